import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP against the simulator, as any SDK would speak to the platform.
struct SimHTTP {
    let base: String

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
        var array: [[String: Any]]? { try? JSONSerialization.jsonObject(with: body) as? [[String: Any]] }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    func call(_ method: String, _ path: String, json: Any? = nil, token: String? = nil,
              authorization: String? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("QQBot " + token, forHTTPHeaderField: "Authorization") }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http?.allHeaderFields ?? [:] { headers["\(k)"] = "\(v)" }
        return Answer(status: http?.statusCode ?? 0, headers: headers, body: data)
    }

    /// A token from the simulator's token endpoint.
    func token(appID: String = "102000001", secret: String = "qqtui-sim-secret") async throws -> String {
        let answer = try await call("POST", "/app/getAppAccessToken", json: ["appId": appID, "clientSecret": secret])
        return answer.json?["access_token"] as? String ?? ""
    }
}
