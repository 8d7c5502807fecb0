import Crypto
import Foundation

/// The platform's codes for chunked uploads (qq-platform-2026.md §5).
enum UploadCodes {
    /// Busy: try the same step again.
    static let retry = 40093001
    /// The bot's daily upload quota is used up.
    static let dailyQuota = 40093002
}

extension OutboundSender {
    /// Bytes hashed into `md5_10m`.
    static let md5PrefixBytes = 10_002_432
    /// Attempts of each step (prepare, each part's PUT, the merge) before the upload fails.
    static let uploadAttempts = 3

    /// The chunked upload: `upload_prepare` (sizes as strings, the file's hashes), a PUT of each part
    /// to the URL it names, `upload_part_finish` for each, then `POST …/files {upload_id}`. 40093001
    /// is retried, 40093002 (the daily quota) ends it with words that say so. The part's `uploaded`
    /// bytes move as parts are confirmed (the console shows the progress).
    func uploadChunked(_ data: Data, filename: String, kind: MediaKind, message: inout OutboundMessage,
                       part index: Int) async -> Result<String, QQError> {
        let base = Self.base(message.conversation)
        let context = "upload \(filename)"
        let prepareBody: [String: JSONValue] = [
            "file_type": .number(Double(kind.fileType)), "file_size": .string(String(data.count)), "file_name": .string(filename),
            "md5": .string(Hex.string(Insecure.MD5.hash(data: data))), "sha1": .string(Hex.string(Insecure.SHA1.hash(data: data))),
            "md5_10m": .string(Hex.string(Insecure.MD5.hash(data: data.prefix(Self.md5PrefixBytes)))),
        ]
        let prepared: JSONValue
        switch await uploadCall(base + "/upload_prepare", prepareBody, context: context + ": prepare", delay: .seconds(1)) {
        case .success(let answer): prepared = answer["data"] ?? answer
        case .failure(let error): return .failure(error)
        }
        guard let uploadID = prepared["upload_id"]?.stringValue, !uploadID.isEmpty,
              let blockSize = Self.number(prepared["block_size"]).map(Int.init), blockSize > 0,
              case .array(let parts)? = prepared["parts"], !parts.isEmpty else {
            return .failure(QQError(kind: .malformedResponse, message: "upload_prepare answered without upload_id, block_size or parts",
                                    context: context))
        }
        let indexes = parts.compactMap { Self.number($0["index"] ?? $0["part_index"]).map(Int.init) }
        guard indexes.count == parts.count, let first = indexes.min(), first == 0 || first == 1 else {
            return .failure(QQError(kind: .malformedResponse, message: "upload_prepare answered parts without usable indexes", context: context))
        }
        let config = prepared["upload_config"]
        let delay = Duration.milliseconds(Int(max(0, Self.number(config?["retry_delay"]) ?? 1) * 1000))
        let retryTimeout = Duration.seconds(min(600, max(0, Self.number(config?["retry_timeout"]) ?? 300)))
        update(&message) { m in m.parts[index].uploaded = 0; m.parts[index].size = data.count }
        var sent = 0
        for (part, partIndex) in zip(parts, indexes) {
            let offset = (partIndex - first) * blockSize
            guard offset < data.count, let url = part["presigned_url"]?.stringValue, !url.isEmpty else {
                return .failure(QQError(kind: .malformedResponse, message: "part \(partIndex) has no URL or lies outside the file", context: context))
            }
            let bytes = data.subdata(in: offset..<min(data.count, offset + blockSize))
            if let error = await putPart(bytes, to: url, context: "\(context): part \(partIndex - first + 1)/\(parts.count)", delay: delay) {
                return .failure(error)
            }
            let finish: [String: JSONValue] = [
                "upload_id": .string(uploadID), "part_index": .number(Double(partIndex)),
                "block_size": .string(String(bytes.count)), "md5": .string(Hex.string(Insecure.MD5.hash(data: bytes))),
            ]
            if case .failure(let error) = await uploadCall(base + "/upload_part_finish", finish, context: "\(context): part \(partIndex - first + 1) finish",
                                                           delay: delay, retryFor: retryTimeout) {
                return .failure(error)
            }
            sent += bytes.count
            update(&message) { m in m.parts[index].uploaded = sent }
        }
        let merge: [String: JSONValue] = ["file_type": .number(Double(kind.fileType)), "srv_send_msg": .bool(false),
                                          "file_name": .string(filename), "upload_id": .string(uploadID)]
        switch await uploadCall(base + "/files", merge, context: context + ": merge", delay: delay) {
        case .success(let answer):
            let merged = answer["data"] ?? answer
            guard let info = merged["file_info"]?.stringValue, !info.isEmpty else {
                return .failure(QQError(kind: .malformedResponse, message: "the merged upload has no file_info", context: context))
            }
            return .success(info)
        case .failure(let error): return .failure(error)
        }
    }

    /// One API step of an upload: 40093001 retried (three times, or until `retryFor` when given),
    /// 40093002 said as the daily quota.
    private func uploadCall(_ path: String, _ body: [String: JSONValue], context: String, delay: Duration,
                            retryFor: Duration? = nil) async -> Result<JSONValue, QQError> {
        let data: Data
        do { data = try Self.encode(body) } catch {
            return .failure(QQError(kind: .malformedResponse, message: "could not encode the request", context: context))
        }
        let deadline = retryFor.map { clock.now + $0 }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let answer = try await rest.requestData(.POST, path, body: data, context: context)
                return .success((try? JSONDecoder().decode(JSONValue.self, from: answer)) ?? .object([:]))
            } catch let error as QQError {
                if error.qqCode == UploadCodes.dailyQuota {
                    var e = error
                    e.message = "QQ's daily upload quota for this bot is used up (\(error.message)); uploads work again tomorrow"
                    return .failure(e)
                }
                let again = error.qqCode == UploadCodes.retry || SendCodes.isTransient(error)
                let inTime = deadline.map { clock.now < $0 } ?? (attempt < Self.uploadAttempts)
                guard again, inTime else { return .failure(error) }
                logger.info("upload step retried", metadata: ["context": "\(context)", "attempt": "\(attempt)", "error": "\(error)"])
                try? await clock.sleep(for: delay)
                if Task.isCancelled { return .failure(QQError(kind: .cancelled, message: "cancelled", context: context)) }
            } catch {
                return .failure(QQError.transport(error, context: context))
            }
        }
    }

    /// PUTs one part to its presigned URL (no QQ credentials go there), retried on failure.
    private func putPart(_ bytes: Data, to url: String, context: String, delay: Duration) async -> QQError? {
        var last: QQError?
        for attempt in 1...Self.uploadAttempts {
            do {
                let result = try await rest.transport.perform(method: .PUT, url: url, headers: [("Content-Length", String(bytes.count))],
                                                              body: bytes, timeout: configuration.timeouts.request * 4, context: context)
                if (200..<300).contains(result.status) { return nil }
                last = QQError(kind: .platform, message: "the part store answered HTTP \(result.status): \(RESTClient.snippet(result.body))",
                               httpStatus: result.status, context: context)
            } catch {
                last = QQError.transport(error, context: context)
            }
            logger.info("part upload retried", metadata: ["context": "\(context)", "attempt": "\(attempt)", "error": "\(String(describing: last))"])
            if attempt < Self.uploadAttempts { try? await clock.sleep(for: delay) }
        }
        return last
    }

    /// A number the platform may send as a number or a string.
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let n)?: return n
        case .string(let s)?: return Double(s)
        default: return nil
        }
    }

}
