import Foundation
import Testing
import TestSupport

/// A self-signed certificate and its key, made by openssl in a fresh folder (the key is written
/// first, the certificate last).
struct TestCertificate {
    let directory: String
    var certificate: String { directory + "/cert.pem" }
    var key: String { directory + "/key.pem" }

    /// For `name` (its common name and subject alternative names: DNS `names`, IP `addresses`).
    static func make(name: String, dnsNames: [String] = [], addresses: [String] = []) async throws -> TestCertificate {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=\(name)"]
        let alternatives = dnsNames.map { "DNS:" + $0 } + addresses.map { "IP:" + $0 }
        if !alternatives.isEmpty { arguments += ["-addext", "subjectAltName=" + alternatives.joined(separator: ",")] }
        let openssl = try PeerProcess("/usr/bin/openssl", arguments)
        let made = await eventually(timeout: .seconds(20)) { () -> Bool? in
            let cert = (try? String(contentsOfFile: dir + "/cert.pem", encoding: .utf8)) ?? ""
            return cert.hasSuffix("-----END CERTIFICATE-----\n") ? true : nil
        }
        await openssl.kill()
        try #require(made == true, "openssl made no certificate")
        return TestCertificate(directory: dir)
    }
}
