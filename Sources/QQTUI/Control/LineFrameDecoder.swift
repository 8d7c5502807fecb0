import NIOCore

/// Splits a byte stream into lines (without the newline); a line longer than `maxLength` is an error.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct LineTooLong: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "a line is longer than \(limit) bytes" }
    }

    let maxLength: Int
    private var searched = 0

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let start = view.startIndex + searched
        if let newline = view[start...].firstIndex(of: 0x0A) {
            let length = newline - view.startIndex
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            searched = 0
            if line.readableBytesView.last == 0x0D { line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)! }
            context.fireChannelRead(wrapInboundOut(line))
            return .continue
        }
        searched = view.count
        if view.count > maxLength { throw LineTooLong(limit: maxLength) }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without its newline is still a line.
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            searched = 0
            context.fireChannelRead(wrapInboundOut(line))
        }
        return .needMoreData
    }
}
