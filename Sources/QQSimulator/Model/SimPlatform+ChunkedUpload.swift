import Crypto
import Foundation

/// One chunked upload in progress: what `upload_prepare` promised and what arrived.
struct SimChunkUpload {
    var isGroup: Bool
    var target: String
    var fileType: Int
    var size: Int
    var md5: String
    var blockSize: Int
    var parts: [Int: Data] = [:]
    var finished: Set<Int> = []
    var partCount: Int { (size + blockSize - 1) / blockSize }
}

extension SimPlatform {
    /// `POST …/upload_prepare`: checks the body as the platform does (`file_size` must be a string:
    /// 850012 otherwise), the size limit of the kind and the daily quota (40093002), and answers the
    /// parts with part URLs on the simulator itself (1-based indexes, like the platform's).
    func prepareUpload(isGroup: Bool, target: String, path: String, body: JSONBody?) -> SendOutcome {
        let outcome = validatePrepare(isGroup: isGroup, target: target, body: body)
        record(method: "POST", path: path, body: body, status: outcome.status, code: outcome.code, message: outcome.message, id: nil)
        return outcome
    }

    private func validatePrepare(isGroup: Bool, target: String, body: JSONBody?) -> SendOutcome {
        if let busy = takeBusyUpload() { return busy }
        guard let type = body?["file_type"]?.int, (1...4).contains(type) else { return .refused(850019, "文件格式错误：file_type") }
        guard let sizeText = body?["file_size"]?.string else { return .refused(850012, "参数错误：file_size 须为字符串") }
        guard let size = Int(sizeText), size > 0 else { return .refused(850012, "参数错误：file_size") }
        guard let md5 = body?["md5"]?.string, md5.count == 32, body?["sha1"]?.string?.count == 40,
              body?["md5_10m"]?.string?.count == 32 else {
            return .refused(850012, "参数错误：md5、sha1、md5_10m")
        }
        guard size <= SimUploadLimits.limit(fileType: type) else { return .refused(850022, "文件大小超过限制") }
        guard uploadedToday + size <= configuration.dailyUploadBytes else { return .refused(40093002, "今日上传额度已用完") }
        let id = "UP" + SimJSON.randomToken(24)
        let block = configuration.uploadBlockSize
        let upload = SimChunkUpload(isGroup: isGroup, target: target, fileType: type, size: size, md5: md5, blockSize: block)
        chunkUploads[id] = upload
        let parts: [JSONBody] = (1...upload.partCount).map { i in
            .object(["index": .number(Double(i)), "presigned_url": .string(baseURL + "/sim/upload/\(id)/\(i)")])
        }
        return SendOutcome(status: 200, extra: [
            "upload_id": .string(id), "block_size": .string(String(block)), "parts": .array(parts),
            "upload_config": .object(["concurrency": .number(1), "retry_timeout": .number(60),
                                      "retry_delay": .number(configuration.uploadRetryDelay)]),
        ])
    }

    /// `PUT /sim/upload/{id}/{index}` (the presigned part URL): keeps the bytes; the next
    /// `failPartUploads` PUTs fail with a 500.
    func receivePart(uploadID: String, index: Int, data: Data) -> Int {
        if failPartUploads > 0 {
            failPartUploads -= 1
            partFailures += 1
            return 500
        }
        guard var upload = chunkUploads[uploadID], (1...upload.partCount).contains(index) else { return 404 }
        upload.parts[index] = data
        chunkUploads[uploadID] = upload
        return 200
    }

    /// `POST …/upload_part_finish`: the part arrived whole (its md5) and is confirmed.
    func finishPart(path: String, body: JSONBody?) -> SendOutcome {
        var outcome: SendOutcome
        if let busy = takeBusyUpload() {
            outcome = busy
        } else if let id = body?["upload_id"]?.string, var upload = chunkUploads[id], let index = body?["part_index"]?.int {
            if let data = upload.parts[index], body?["block_size"]?.string == String(data.count),
               body?["md5"]?.string == Self.hex(Insecure.MD5.hash(data: data)) {
                upload.finished.insert(index)
                chunkUploads[id] = upload
                outcome = SendOutcome(status: 200)
            } else {
                outcome = .refused(850013, "分片校验失败：part \(index)")
            }
        } else {
            outcome = .refused(850014, "upload_id 或 part_index 无效")
        }
        record(method: "POST", path: path, body: body, status: outcome.status, code: outcome.code, message: outcome.message, id: nil)
        return outcome
    }

    /// `POST …/files {upload_id}`: every part confirmed and the whole file's md5 right, then the same
    /// `file_info` a small upload gets.
    func mergeUpload(isGroup: Bool, target: String, uploadID: String) -> SendOutcome {
        if let busy = takeBusyUpload() { return busy }
        guard let upload = chunkUploads[uploadID], upload.isGroup == isGroup, upload.target == target else {
            return .refused(850014, "upload_id 无效")
        }
        guard upload.finished.count == upload.partCount else { return .refused(850015, "分片未全部上传") }
        let whole = (1...upload.partCount).reduce(into: Data()) { $0.append(upload.parts[$1] ?? Data()) }
        guard whole.count == upload.size,
              Self.hex(Insecure.MD5.hash(data: whole)) == upload.md5 else {
            return .refused(850013, "文件校验失败")
        }
        chunkUploads[uploadID] = nil
        uploadedToday += upload.size
        mergedUploads.append(SimMergedUpload(fileType: upload.fileType, size: upload.size, isGroup: isGroup, target: target,
                                             parts: upload.partCount, data: whole))
        return mediaInfo(isGroup: isGroup)
    }

    /// Answers 40093001 to the next `busyUploads` upload steps.
    private func takeBusyUpload() -> SendOutcome? {
        guard busyUploads > 0 else { return nil }
        busyUploads -= 1
        return .refused(40093001, "上传繁忙，请重试")
    }

    /// Files that went through the chunked upload, whole.
    public func mergedFiles() -> [SimMergedUpload] { mergedUploads }

    /// Part PUTs that failed on purpose.
    public func failedPartUploads() -> Int { partFailures }
}

/// A chunked upload the simulator put together.
public struct SimMergedUpload: Sendable, Hashable {
    public var fileType: Int
    public var size: Int
    public var isGroup: Bool
    public var target: String
    public var parts: Int
    public var data: Data
}

/// The platform's size limits per `file_type` (qqbot-nodejs: 30/100/20/100 MB).
enum SimUploadLimits {
    static func limit(fileType: Int) -> Int {
        switch fileType {
        case 1: return 30 << 20
        case 3: return 20 << 20
        default: return 100 << 20
        }
    }
}
