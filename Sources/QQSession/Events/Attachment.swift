import Foundation

/// A file attached to an inbound message. Images are downloaded (size-capped) and carry their bytes.
public struct Attachment: Sendable, Hashable, Codable {
    /// Download outcome.
    public enum State: Sendable, Hashable, Codable {
        /// Not downloaded (not an image, or downloads are off).
        case remote
        /// Downloaded: the bytes are in `data` and, when a directory is configured, at `localPath`.
        case downloaded
        /// The download failed; the message keeps a visible placeholder.
        case failed(reason: String)
    }

    /// `content_type` (`image/png`, `video/mp4`, `voice`, `file`, …).
    public var contentType: String
    /// File name.
    public var filename: String
    /// The URL, with `https://` added when the platform left the scheme out.
    public var url: String
    /// Size in bytes: downloaded size when known, else what the platform declared.
    public var size: Int?
    /// Pixel width (the platform's value, or read from the image header).
    public var width: Int?
    /// Pixel height.
    public var height: Int?
    /// Download outcome.
    public var state: State
    /// Where the downloaded file was written.
    public var localPath: String?
    /// The downloaded bytes (not part of the JSON form; read `localPath` across processes).
    public var data: Data?

    enum CodingKeys: String, CodingKey { case contentType, filename, url, size, width, height, state, localPath }

    /// An attachment (normally built by the inbound processor from the platform's entry).
    public init(contentType: String, filename: String, url: String, size: Int? = nil, width: Int? = nil,
                height: Int? = nil, state: State = .remote, localPath: String? = nil, data: Data? = nil) {
        self.contentType = contentType
        self.filename = filename
        self.url = url
        self.size = size
        self.width = width
        self.height = height
        self.state = state
        self.localPath = localPath
        self.data = data
    }

    /// True for `image/*`.
    public var isImage: Bool { contentType.lowercased().hasPrefix("image") }

    /// `[image 640×480 cat.png]`, `[image cat.png: download failed (HTTP 404)]`, `[file report.pdf]`.
    public var placeholder: String {
        let kind = isImage ? "image" : (contentType.split(separator: "/").first.map(String.init) ?? "file")
        var text = "[" + kind
        if let width, let height { text += " \(width)×\(height)" }
        text += " " + filename
        if case .failed(let reason) = state { text += ": " + reason }
        return text + "]"
    }
}
