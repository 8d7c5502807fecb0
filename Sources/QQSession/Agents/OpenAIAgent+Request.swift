import Foundation

/// The JSON body of a streamed chat completion request.
struct ChatCompletionBody: Encodable, Sendable {
    /// Asks for a final chunk with token counts.
    struct StreamOptions: Encodable, Sendable {
        var includeUsage = true
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    var model: String
    var stream = true
    var streamOptions = StreamOptions()
    var messages: [WireMessage]
    var temperature: Double?

    enum CodingKeys: String, CodingKey {
        case model, stream, messages, temperature
        case streamOptions = "stream_options"
    }
}

/// One message as the chat completions API takes it.
struct WireMessage: Encodable, Sendable, Hashable {
    var role: String
    var content: Content

    /// Plain text, or content parts when the message carries images.
    enum Content: Encodable, Sendable, Hashable {
        case text(String)
        case parts([Part])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .parts(let parts): try container.encode(parts)
            }
        }
    }

    /// `{"type":"text","text":…}` or `{"type":"image_url","image_url":{"url":…}}`.
    struct Part: Encodable, Sendable, Hashable {
        /// The `image_url` object.
        struct ImageURL: Encodable, Sendable, Hashable { var url: String }
        var type: String
        var text: String?
        var imageURL: ImageURL?

        enum CodingKeys: String, CodingKey {
            case type, text
            case imageURL = "image_url"
        }

        /// A text part.
        static func text(_ text: String) -> Part { Part(type: "text", text: text) }
        /// An image part carrying a data URL.
        static func image(dataURL: String) -> Part { Part(type: "image_url", imageURL: ImageURL(url: dataURL)) }
    }
}

extension OpenAIAgent {
    /// Images larger than this are not sent (a data URL is a third larger still).
    static let maxImageBytes = 20 * 1024 * 1024

    /// The messages of a request, system prompt first, and notes for the operator about skipped images.
    static func wireMessages(for request: TurnRequest, configuration: OpenAIAgentConfiguration)
        -> (messages: [WireMessage], notes: [String]) {
        var messages: [WireMessage] = []
        var notes: [String] = []
        if let prompt = configuration.systemPrompt, !prompt.isEmpty {
            messages.append(WireMessage(role: ChatMessage.Role.system.rawValue, content: .text(prompt)))
        }
        let window = historyWindow(request.history + request.newMessages, maxMessages: configuration.maxHistoryMessages,
                                   maxChars: configuration.maxHistoryChars)
        for message in window {
            var parts: [WireMessage.Part] = []
            if message.role == .user {
                for path in message.images {
                    switch imageDataURL(path: path) {
                    case .success(let url): parts.append(.image(dataURL: url))
                    case .failure(let note): notes.append(note.text)
                    }
                }
            }
            let content: WireMessage.Content = parts.isEmpty ? .text(message.text) : .parts([.text(message.text)] + parts)
            messages.append(WireMessage(role: message.role.rawValue, content: content))
        }
        return (messages, notes)
    }

    /// The newest messages that fit `maxMessages` and `maxChars` (of text), oldest first.
    ///
    /// The newest user message and whatever follows it are always kept, even beyond the limits: the
    /// model must see what it answers. Older messages are added newest first until one does not fit.
    static func historyWindow(_ messages: [ChatMessage], maxMessages: Int, maxChars: Int) -> ArraySlice<ChatMessage> {
        guard !messages.isEmpty else { return [] }
        var start = messages.lastIndex { $0.role == .user } ?? messages.count - 1
        var count = messages.count - start
        var chars = messages[start...].reduce(0) { $0 + $1.text.count }
        while start > 0 {
            let older = messages[start - 1]
            guard count + 1 <= maxMessages, chars + older.text.count <= maxChars else { break }
            start -= 1
            count += 1
            chars += older.text.count
        }
        return messages[start...]
    }

    /// Why an image was left out, for a `.note` event.
    struct SkippedImage: Error {
        var text: String
    }

    /// The image at `path` as a `data:` URL, or why it cannot be sent.
    static func imageDataURL(path: String) -> Result<String, SkippedImage> {
        let name = (path as NSString).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        if let size, size > maxImageBytes {
            return .failure(SkippedImage(text: "image \(name) not sent: \(size) bytes is over the \(maxImageBytes)-byte limit"))
        }
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
            return .failure(SkippedImage(text: "image \(name) not sent: the file cannot be read"))
        }
        guard data.count <= maxImageBytes else {
            return .failure(SkippedImage(text: "image \(name) not sent: over the \(maxImageBytes)-byte limit"))
        }
        guard let mime = imageMIMEType(data: data, path: path) else {
            return .failure(SkippedImage(text: "image \(name) not sent: not a PNG, JPEG, GIF, WebP or BMP image"))
        }
        return .success("data:\(mime);base64,\(data.base64EncodedString())")
    }

    /// The MIME type from the file's first bytes, else from its extension; nil when it is no known image.
    static func imageMIMEType(data: Data, path: String) -> String? {
        let head = [UInt8](data.prefix(12))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if head.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        if head.count >= 12, head.starts(with: Array("RIFF".utf8)), head[8...].elementsEqual("WEBP".utf8) { return "image/webp" }
        if head.starts(with: Array("BM".utf8)) { return "image/bmp" }
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "bmp": return "image/bmp"
        default: return nil
        }
    }
}
