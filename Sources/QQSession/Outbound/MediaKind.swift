import Foundation

/// What a file is sent as: the upload's `file_type` and the platform's size limit for it.
public enum MediaKind: String, Sendable, Hashable, Codable, CaseIterable {
    case image, video, voice, file

    /// `file_type` of `POST …/files` and `upload_prepare`.
    var fileType: Int {
        switch self {
        case .image: return 1
        case .video: return 2
        case .voice: return 3
        case .file: return 4
        }
    }

    /// The largest file of this kind the platform takes (qqbot-nodejs's limits, the strictest
    /// published: image 30 MB, video 100 MB, voice 20 MB, file 100 MB).
    public var limit: Int {
        switch self {
        case .image: return 30 << 20
        case .video: return 100 << 20
        case .voice: return 20 << 20
        case .file: return 100 << 20
        }
    }

    /// The kind a file name suggests: pictures, videos, SILK voice; anything else is a file.
    public static func guess(_ filename: String) -> MediaKind {
        switch (filename as NSString).pathExtension.lowercased() {
        case "png", "jpg", "jpeg", "gif", "webp", "bmp": return .image
        case "mp4", "mov", "m4v": return .video
        case "silk", "slk", "amr": return .voice
        default: return .file
        }
    }

    /// The kind of an outbound message that carries it.
    var messageKind: OutboundMessage.Kind {
        switch self {
        case .image: return .image
        case .video: return .video
        case .voice: return .voice
        case .file: return .file
        }
    }
}
