import Foundation
@testable import QQSession
import Testing

/// The platform's published signature test vectors (bot-docs sign.md, as botgo and the SDKs test them).
@Suite("Webhook signatures")
struct WebhookSignatureTests {
    @Test("the official event vector verifies; the key is the official one; a changed byte, timestamp or signature does not")
    func eventVector() throws {
        let signer = try #require(WebhookSignature(secret: Secret("naOC0ocQE3shWLAfffVLB1rhYPG7")))
        #expect(signer.publicKeyHex == "d7c362fe78aef81ff23287b493628b5db02a3c4fe30b215e4d19609b5d76673a")
        let body = Data("{\n  \"op\": 0,\n  \"d\": {},\n  \"t\": \"GATEWAY_EVENT_NAME\"\n}".utf8)
        let signature = "865ad13a61752ca65e26bde6676459cd36cf1be609375b37bd62af366e1dc25a8dc789ba7f14e017ada3d554c671a911bfdf075ba54835b23391d509579ed002"
        #expect(signer.verify(signatureHex: signature, timestamp: "1725442341", body: body))
        #expect(signer.sign(Data("1725442341".utf8) + body) == signature, "Ed25519 is deterministic: the same signature")
        #expect(!signer.verify(signatureHex: signature, timestamp: "1725442342", body: body))
        var changed = body
        changed[changed.count - 2] = UInt8(ascii: " ")
        #expect(!signer.verify(signatureHex: signature, timestamp: "1725442341", body: changed))
        #expect(!signer.verify(signatureHex: "00" + signature.dropFirst(2), timestamp: "1725442341", body: body))
        #expect(!signer.verify(signatureHex: String(signature.dropLast(2)), timestamp: "1725442341", body: body))
        #expect(!signer.verify(signatureHex: "zz" + signature.dropFirst(2), timestamp: "1725442341", body: body))
        // A non-canonical signature (high bits of the last byte set) is refused before any curve math.
        #expect(!signer.verify(signatureHex: String(signature.dropLast(2)) + "f2", timestamp: "1725442341", body: body))
    }

    @Test("the official op 13 vector: the answer to the callback URL check")
    func validationVector() throws {
        let signer = try #require(WebhookSignature(secret: Secret("DG5g3B4j9X2KOErG")))
        #expect(signer.validationSignature(plainToken: "Arq0D5A61EgUu4OxUvOp", eventTS: "1725442341")
                == "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706")
        #expect(WebhookSignature(secret: Secret("")) == nil)
    }
}
