import Foundation
import QQSession
import QQSimulator

/// Scripted QQ users for `qqtui --demo`: Chinese and English, private and group, an @mention, an
/// image, a long message, a bare @bot (which must be skipped), a gateway reconnect, escape sequences,
/// and the demo agent answering a group and a private chat and drafting answers for a third (DRAFT:
/// two questions, two drafts, each answering its own message); the rest is the operator's to try.
struct DemoScript: Sendable {
    struct Step: Sendable {
        var after: Duration
        var action: @Sendable (SimPlatform, Session) async -> Void
    }

    static let zhang = "E4F4AEA3C1B2D9F0A6B7C8D9E0F1A2B3"
    static let alice = "7A1C0E55D2B94F6E8C3A1B2D4E6F8091"
    static let xiaoming = "3B9F2C7D1E4A5B6C8D0E2F4A6B8C0D1E"
    static let lihua = "9C8B7A6F5E4D3C2B1A0F9E8D7C6B5A43"
    static let testGroup = "C4D8E2F1A3B5C7D9E0F2A4B6C8D0E1F3"
    static let devGroup = "D0E1F3C4D8E2F1A3B5C7D9E0F2A4B6C8"
    static let wang = "5F6E7D8C9B0A1F2E3D4C5B6A7F8E9D0C"

    /// The names the demo's operator gave its users and groups (QQ only gives openids).
    static let aliases: [(String, String)] = [
        (zhang, "张三"), (alice, "Alice"), (xiaoming, "小明"), (lihua, "李华"), (testGroup, "测试群"), (devGroup, "Dev team"),
        (wang, "王五"),
    ]

    /// A 16×12 PNG, so the demo's image has real bytes and dimensions.
    static let samplePNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAABAAAAAMCAIAAADkharWAAABOElEQVR4nA3LQQHEMAgAwUhAAhKQgAQkIAEJSIiESEBCn/ushEiohLv5z1oLWejCFr6IRS5q0Yu9OItZPIt3cRffYi1BBBVMcCGEFEpoYQtHGOERXuEKn/yDIooqprgSSiqltLKVo4zyKK9ylU//wRBDDTPcCCONMtrYxjHGeIzXuMZn/+CIo4457oSTTjntbOc44zzO61zn838IJNDAAg8iyKCCDnZwggme4A1u8MU/JJJoYoknkWRSSSc7OckkT/ImN/nyHwoptLDCiyiyqKKLXZxiiqd4i1t89Q+NNNpY40002VTTzW5OM83TvM1tvv6HjWx0YxvfxCY3tenN3pzNbJ7Nu7mbb//DQQ56sIMf4pCHOvRhH85hDs/hPdzDd/5hkEEHG3yIIYcaetjDGWZ4hne4wzf8AOkMMhAdulCfAAAAAElFTkSuQmCC") ?? Data()

    static let longMessage: String = {
        var lines = ["我整理了一下上周的问题清单，麻烦帮忙看看：", ""]
        for i in 1...40 {
            lines.append("\(i). 订单 #\(20_260_000 + i * 37) 的物流状态一直没有更新，客户已经来问了第 \(i % 4 + 1) 次，能否查一下原因？")
        }
        lines.append("")
        lines.append("Thanks! The list above is long on purpose (it is over 2000 characters).")
        return lines.joined(separator: "\n")
    }()

    /// The opening scene, then idle chatter every few seconds.
    static func opening() -> [Step] {
        [
            Step(after: .milliseconds(300)) { _, s in
                await s.setOwner(.agent, for: .group(testGroup), by: "demo", reason: "the agent answers the group")
                await s.setOwner(.agent, for: .c2c(alice), by: "demo", reason: "night shift")
                await s.setOwner(.draft, for: .c2c(wang), by: "demo", reason: "the agent drafts, the operator sends")
            },
            Step(after: .milliseconds(800)) { p, _ in _ = await p.userSendsC2C(userOpenID: zhang, content: "你好，请问今天营业吗？") },
            Step(after: .milliseconds(1200)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: testGroup, memberOpenID: xiaoming, content: "今天天气怎么样？")
            },
            Step(after: .milliseconds(900)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: testGroup, memberOpenID: lihua, content: "", inlineMention: true)
            },
            Step(after: .milliseconds(1200)) { p, _ in
                _ = await p.userSendsC2C(userOpenID: alice, content: "Hi! Here is the receipt, can you check the total?",
                                         attachments: [SimAttachment(contentType: "image/png", filename: "receipt.png", data: samplePNG)])
            },
            Step(after: .milliseconds(1500)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: testGroup, memberOpenID: lihua, content: "大家好，我是新来的 👋",
                                           mentionBot: false)
            },
            Step(after: .milliseconds(1000)) { p, _ in _ = await p.userSendsC2C(userOpenID: wang, content: "请问可以开发票吗？") },
            Step(after: .milliseconds(1500)) { p, _ in _ = await p.userSendsC2C(userOpenID: zhang, content: longMessage) },
            Step(after: .milliseconds(1000)) { p, _ in _ = await p.userSendsC2C(userOpenID: wang, content: "还有，运费怎么算？") },
            Step(after: .milliseconds(1200)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: devGroup, memberOpenID: alice, content: "Has anyone tried the new release yet?",
                                           mentionBot: false)
            },
            Step(after: .milliseconds(1500)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: devGroup, memberOpenID: lihua, content: "Release notes, please — what changed in 2.0?")
            },
            Step(after: .milliseconds(2500)) { p, _ in await p.apply(.reconnect) },
            Step(after: .milliseconds(1500)) { p, _ in
                _ = await p.userSendsGroup(groupOpenID: testGroup, memberOpenID: xiaoming, content: "<@!other> 你看这个 \u{1B}[31m红色\u{1B}[0m?",
                                           inlineMention: true)
            },
        ]
    }

    static let chatter: [(String, Bool, String)] = [
        (zhang, false, "好的，谢谢！还有一个问题：周末营业吗？"),
        (alice, false, "Could you also tell me when the next delivery is?"),
        (xiaoming, true, "机器人在吗？帮我查一下明天的安排"),
        (lihua, true, "周末有活动吗？"),
        (alice, false, "Thanks, that helps a lot 🙏"),
        (xiaoming, true, "Can you speak English too?"),
    ]

    /// Runs the scene on `platform` until cancelled.
    static func run(on platform: SimPlatform, session: Session) async {
        for step in opening() {
            guard (try? await Task.sleep(for: step.after)) != nil else { return }
            await step.action(platform, session)
        }
        var i = 0
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: .seconds(Double.random(in: 6...12)))) != nil else { return }
            let (user, inGroup, text) = chatter[i % chatter.count]
            if inGroup {
                _ = await platform.userSendsGroup(groupOpenID: testGroup, memberOpenID: user, content: text)
            } else {
                _ = await platform.userSendsC2C(userOpenID: user, content: text)
            }
            i += 1
        }
    }
}
