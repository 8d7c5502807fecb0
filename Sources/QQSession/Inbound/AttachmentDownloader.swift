import Foundation
import Logging

/// Turns the platform's attachment entries into ``Attachment`` values, downloading images
/// (size-capped, time-limited) and writing them owner-only into the attachment directory.
struct AttachmentDownloader: Sendable {
    let policy: AttachmentPolicy
    let transport: HTTPTransport
    let logger: Logger

    /// `https://` for scheme-less URLs (the platform has sent `multimedia.nt.qq.com.cn/…` and `//host/…`).
    static func normalizeURL(_ raw: String) -> String {
        let url = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = url.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return url }
        if url.hasPrefix("//") { return "https:" + url }
        return "https://" + url
    }

    /// The attachment as announced, before any download.
    static func describe(_ p: AttachmentPayload, index: Int) -> Attachment {
        let type = p.contentType.flatMap { $0.isEmpty ? nil : $0 } ?? "file"
        let name = p.filename.flatMap { $0.isEmpty ? nil : $0 } ?? "attachment-\(index + 1)"
        return Attachment(contentType: type, filename: name, url: normalizeURL(p.url ?? ""), size: p.size,
                          width: p.width.flatMap { $0 > 0 ? $0 : nil }, height: p.height.flatMap { $0 > 0 ? $0 : nil })
    }

    /// True when `attachment` will be downloaded.
    func wantsDownload(_ attachment: Attachment) -> Bool {
        policy.download && attachment.url.count > "https://".count
    }

    /// Downloads `attachment` (images, voice, video, files: all within the size cap); failures become a
    /// `.failed` state, never an error. Only an image's bytes stay in memory (the agent may read it).
    func resolve(_ attachment: Attachment, messageID: String, index: Int) async -> Attachment {
        guard wantsDownload(attachment) else { return attachment }
        var result = attachment
        do {
            let response = try await transport.perform(method: .GET, url: attachment.url, timeout: policy.timeout,
                                                       maxBytes: policy.maxBytes, context: "download \(attachment.filename)")
            guard response.status == 200 else {
                result.state = .failed(reason: "download failed (HTTP \(response.status))")
                return result
            }
            if attachment.isImage { result.data = response.body }
            result.size = response.body.count
            if result.width == nil || result.height == nil, let dims = ImageSize.of(response.body) {
                result.width = dims.width
                result.height = dims.height
            }
            if let contentType = response.contentType, contentType.lowercased().hasPrefix("image/") {
                result.contentType = contentType.split(separator: ";").first.map(String.init) ?? contentType
            }
            result.localPath = write(response.body, messageID: messageID, index: index, filename: attachment.filename)
            result.state = .downloaded
        } catch let error as QQError {
            switch error.kind {
            case .download: result.state = .failed(reason: "larger than \(Self.formatBytes(policy.maxBytes)), not downloaded")
            case .timeout: result.state = .failed(reason: "download timed out after \(policy.timeout.shortDescription)")
            default: result.state = .failed(reason: "download failed (\(error.message))")
            }
        } catch {
            result.state = .failed(reason: "download failed")
        }
        return result
    }

    /// Writes the file owner-only; returns its path, or nil (logged) when the disk refuses.
    private func write(_ data: Data, messageID: String, index: Int, filename: String) -> String? {
        guard let directory = policy.directory else { return nil }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let name = Self.safeName(messageID) + "-\(index)-" + Self.safeName(filename)
            let path = (directory as NSString).appendingPathComponent(name)
            guard fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                logger.warning("could not write attachment", metadata: ["path": "\(path)"])
                return nil
            }
            return path
        } catch {
            logger.warning("could not write attachment", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// `512 B`, `4 KiB`, `20 MiB`, `1.5 MiB`.
    static func formatBytes(_ n: Int) -> String { ByteCount.text(n) }

    /// A file-name-safe version of `text` (no separators, no dot-files, at most 80 characters).
    static func safeName(_ text: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        var out = String(String.UnicodeScalarView(text.unicodeScalars.map { allowed.contains($0) ? $0 : "_" }))
        while out.hasPrefix(".") { out.removeFirst() }
        if out.isEmpty { out = "file" }
        return String(out.suffix(80))
    }
}
