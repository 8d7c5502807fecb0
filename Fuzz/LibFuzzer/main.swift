// A libFuzzer entry point for QQSession's parsers (built only by scripts/fuzz, never by `swift build`).
//
// The first input byte picks the parser; the rest is its input. Properties are preconditions, so a
// broken one is a crash libFuzzer saves and minimises like any other.
import Foundation
@testable import QQSession

/// libFuzzer's driver (SwiftPM gives an executable its own `main`, so libFuzzer's is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
    guard let data else { return 0 }
    return fuzzOneInput(UnsafeRawPointer(data), count)
})

func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let input = Array(bytes.dropFirst())
    switch bytes[0] % 4 {
    case 0: LibFuzzerTargets.gatewayFrame(input)
    case 1: LibFuzzerTargets.sse(input)
    case 2: LibFuzzerTargets.acpLines(input)
    default: LibFuzzerTargets.tokenAnswer(input)
    }
    return 0
}

/// The properties checked per input.
enum LibFuzzerTargets {
    /// A gateway frame (as a binary and as a text frame) through the decoder, the state machine and,
    /// for a message, the mention stripper.
    static func gatewayFrame(_ input: [UInt8]) {
        _ = try? GatewayFrame.decode(Data(input))
        guard let frame = try? GatewayFrame.decode(String(decoding: input, as: UTF8.self)) else { return }
        var machine = GatewayStateMachine<ContinuousClock.Instant>(intents: 1 << 25, shard: Shard(index: 0, count: 1),
                                                                   helloTimeout: .seconds(15), readyTimeout: .seconds(15))
        let now = ContinuousClock.now
        machine.connectionOpened(plan: .identify, now: now)
        _ = machine.receive(frame, now: now)
        _ = machine.tick(now: now.advanced(by: .seconds(20)))
        if case .message(let p) = frame.payload {
            let once = MentionStripper.strip(p.content, botIDs: ["B0T"], atEvent: true)
            precondition(MentionStripper.strip(once, botIDs: ["B0T"], atEvent: false) == once, "mention stripping is not stable")
        }
    }

    /// SSE: the same events whole and cut at a point the input chooses.
    static func sse(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let body = Array(input.dropFirst())
        let cut = body.isEmpty ? 0 : Int(first) % (body.count + 1)
        var whole = SSEParser()
        let a = whole.feed(body) + whole.finish()
        var split = SSEParser()
        let b = split.feed(body[..<cut]) + split.feed(body[cut...]) + split.finish()
        precondition(a == b, "SSE events depend on where the stream is cut")
    }

    /// ACP lines: the same lines and verdict whole and cut at a point the input chooses.
    static func acpLines(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let limit = Int(input[0]) + 1
        let body = Array(input.dropFirst(2))
        let cut = body.isEmpty ? 0 : Int(input[1]) % (body.count + 1)
        func run(_ chunks: [[UInt8]]) -> ([Data], Bool, Data?) {
            var buffer = ACPLineBuffer(limit: limit)
            var lines: [Data] = []
            for chunk in chunks {
                do { lines += try buffer.append(Data(chunk)) } catch { return (lines, true, nil) }
                precondition(buffer.bufferedByteCount <= limit + 1, "the ACP buffer holds more than its limit")
            }
            return (lines, false, buffer.finish())
        }
        let whole = run([body]), split = run([Array(body[..<cut]), Array(body[cut...])])
        precondition(whole.1 == split.1, "the ACP overflow verdict depends on where the stream is cut")
        if !whole.1 { precondition(whole.0 == split.0 && whole.2 == split.2, "ACP lines depend on where the stream is cut") }
    }

    /// A token endpoint answer: decodes or not, and a lifetime is always sane.
    static func tokenAnswer(_ input: [UInt8]) {
        guard let answer = try? JSONDecoder().decode(TokenResponse.self, from: Data(input)) else { return }
        precondition((1...TokenResponse.maxLifetime).contains(answer.lifetime), "token lifetime out of range")
    }
}
