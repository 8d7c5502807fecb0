import Foundation

/// Builds the `prompt` content blocks of a `session/prompt`.
enum ACPPrompt {
    /// Images larger than this are not sent (base64 makes them a third bigger on the wire).
    static let imageLimit = 20 * 1024 * 1024

    /// The text block, then one image block per readable image when the agent accepts images;
    /// `notes` say what was left out and why.
    static func blocks(for request: TurnRequest, acceptsImages: Bool) -> (blocks: [JSONValue], notes: [String]) {
        var blocks: [JSONValue] = [.object(["type": .string("text"), "text": .string(request.promptText)])]
        let paths = request.images
        guard !paths.isEmpty else { return (blocks, []) }
        guard acceptsImages else {
            return (blocks, ["the agent does not accept images: \(paths.count) image(s) not sent"])
        }
        var notes: [String] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                notes.append("image \(path) not sent: it cannot be read")
                continue
            }
            guard data.count <= imageLimit else {
                notes.append("image \(path) not sent: larger than \(imageLimit / (1024 * 1024)) MiB")
                continue
            }
            guard let mime = mimeType(of: data, path: path) else {
                notes.append("image \(path) not sent: not a PNG, JPEG, GIF or WebP image")
                continue
            }
            blocks.append(.object(["type": .string("image"), "mimeType": .string(mime), "data": .string(data.base64EncodedString())]))
        }
        return (blocks, notes)
    }

    /// The image type from the file's first bytes, else from its extension.
    static func mimeType(of data: Data, path: String) -> String? {
        let b = [UInt8](data.prefix(12))
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if b.starts(with: [0x47, 0x49, 0x46, 0x38]) { return "image/gif" }
        if b.count >= 12, b.starts(with: [0x52, 0x49, 0x46, 0x46]), Array(b[8..<12]) == [0x57, 0x45, 0x42, 0x50] {
            return "image/webp"
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        default: return nil
        }
    }
}
