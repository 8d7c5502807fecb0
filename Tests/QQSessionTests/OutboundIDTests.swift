import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// The outbound message id and the openid in a request path, written by hand for speed: the same
/// text Foundation would give.
@Suite("Outbound ids and paths")
struct OutboundIDTests {
    @Test("a reply's id is out- and a lowercase UUID, a new one each time")
    func newIDs() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = OutboundSender.newID()
            #expect(id.hasPrefix("out-") && id.utf8.count == 40)
            let uuid = String(id.dropFirst(4))
            #expect(UUID(uuidString: uuid)?.uuidString.lowercased() == uuid, "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 2000)
    }

    @Test("an openid in a path: as it is when plain, percent-encoded as Foundation does otherwise")
    func pathComponents() async {
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))
        for plain in ["E8F3A2B1C4D5", "u_1-2", "abcXYZ09"] { #expect(OutboundSender.pathComponent(plain) == plain) }
        for odd in ["a/b", "a?b#c", "50%", "a b", "用户", "", "..", "a+b=c"] {
            #expect(OutboundSender.pathComponent(odd) == (odd.addingPercentEncoding(withAllowedCharacters: allowed) ?? odd), "\(odd)")
        }
        let report = await Fuzz.run("path-component", iterations: 2000) { c in
            let s = Hostile.string(&c.rng, maxLength: 24)
            c.input = s
            c.check(OutboundSender.pathComponent(s) == (s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s), "differs")
        }
        #expect(report.passed, "\(report)")
    }
}
