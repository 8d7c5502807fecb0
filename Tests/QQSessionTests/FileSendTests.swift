import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Files, voice and video against the simulator: the kind from the name, the inline upload, the
/// chunked upload (a failed part retried, a busy step retried, the daily quota), and the limits
/// refused before any byte is uploaded.
@Suite("Files, voice and video", .timeLimit(.minutes(1)))
struct FileSendTests {
    static func simulator(daily: Int = 2 << 30) -> SimulatorConfiguration {
        var sim = SimulatorConfiguration()
        sim.uploadBlockSize = 64 << 10
        sim.uploadRetryDelay = 0
        sim.dailyUploadBytes = daily
        return sim
    }

    /// Files over 100 KiB take the chunked upload.
    static func smallInline(_ c: inout SessionConfiguration) { c.sending.maxUploadBytes = 100 << 10 }

    static func bytes(_ n: Int) -> Data { Data((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }) }

    @Test("a 300 KB PDF: chunked upload in 5 parts, a failed part PUT and a busy step retried, progress reported, then msg_type 7")
    func chunkedUpload() async throws {
        try await SimHarness.run(simulator: Self.simulator(), configure: Self.smallInline) { h in
            #expect(await h.recorder.waitForReady())
            let question = await h.c2cMessage(from: "U1", "发一下发票")
            await h.platform.apply(.failPartUploads(count: 1))
            await h.platform.apply(.busyUploads(count: 1))
            let data = Self.bytes(300_000)
            let sent = await h.session.sendFile(data, filename: "发票.pdf", as: .file, caption: "您的发票", to: .c2c("U1"))
            #expect(sent.status == .sent, "\(sent.status)")
            #expect(sent.kind == .file)
            #expect(sent.parts.first?.uploaded == 300_000 && sent.parts.first?.size == 300_000)
            // The platform got the whole file, in order.
            let merged = try #require(await h.platform.mergedFiles().first)
            #expect(merged.data == data && merged.fileType == 4 && merged.parts == 5)
            #expect(await h.platform.failedPartUploads() == 1)
            // The steps as the platform documents them: file_size as a string, then parts, then the merge.
            let requests = await h.platform.sent()
            let prepare = try #require(requests.first { $0.path == "/v2/users/U1/upload_prepare" && $0.status == 200 })
            #expect(prepare.body?["file_size"]?.string == "300000" && prepare.body?["file_name"]?.string == "发票.pdf")
            #expect(requests.filter { $0.path.hasSuffix("/upload_part_finish") && $0.status == 200 }.count == 5)
            #expect(requests.contains { $0.code == 40093001 }, "the busy step was answered and retried")
            let media = try #require(requests.first { $0.path == "/v2/users/U1/messages" && $0.status == 200 })
            #expect(media.body?["msg_type"]?.int == 7 && media.body?["msg_id"]?.string == question.id)
            #expect(media.body?["content"]?.string == "您的发票")
            // Progress: the part's uploaded bytes only grow, to the whole file.
            let progress = await h.recorder.events.compactMap { event -> Int? in
                if case .outbound(let m) = event, m.id == sent.id { return m.parts.first?.uploaded }
                return nil
            }
            #expect(progress == progress.sorted() && progress.last == 300_000 && Set(progress).count >= 5, "\(progress)")
        }
    }

    @Test("limits: over the kind's limit refused before any upload; the daily quota said as such; the kind from the name")
    func limitsAndKinds() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // 21 MB of SILK voice (sparse: never read whole): over the 20 MB QQ takes for voice.
        let voice = dir.appendingPathComponent("留言.silk").path
        #expect(FileManager.default.createFile(atPath: voice, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: voice))
        try handle.truncate(atOffset: 21 << 20)
        try handle.close()
        let clip = dir.appendingPathComponent("演示.mp4").path
        try Self.bytes(20_000).write(to: URL(fileURLWithPath: clip))
        try await SimHarness.run(simulator: Self.simulator(daily: 200_000), configure: Self.smallInline) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "语音呢")
            let tooBig = await h.session.sendFile(path: voice, to: .c2c("U1"))
            guard case .refused(let reason) = tooBig.status else { Issue.record("\(tooBig.status)"); return }
            #expect(tooBig.kind == .voice)
            #expect(reason == "留言.silk is 21 MiB, over the 20 MiB QQ takes for a voice", "\(reason)")
            #expect(await h.platform.sent().isEmpty, "nothing was uploaded")
            let missing = await h.session.sendFile(path: dir.appendingPathComponent("none.pdf").path, to: .c2c("U1"))
            guard case .refused(let why) = missing.status else { Issue.record("\(missing.status)"); return }
            #expect(why.contains("no such file"))

            // A small video goes inline, as file_type 2.
            let video = await h.session.sendFile(path: clip, to: .c2c("U1"))
            #expect(video.status == .sent && video.kind == .video)
            #expect(await h.platform.sent().first { $0.path == "/v2/users/U1/files" }?.body?["file_type"]?.int == 2)

            // 300 KB with 200 KB of daily quota: 40093002, said as the daily quota.
            let quota = await h.session.sendFile(Self.bytes(300_000), filename: "大文件.zip", as: .file, to: .c2c("U1"))
            guard case .failed = quota.status else { Issue.record("\(quota.status)"); return }
            #expect(quota.error?.qqCode == 40093002)
            #expect(quota.error?.message.contains("daily upload quota") == true)
            #expect(await h.platform.mergedFiles().isEmpty)
        }
    }
}
