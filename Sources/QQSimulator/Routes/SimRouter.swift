import Foundation
import Hummingbird

/// The platform's HTTP API and the control API (`/sim/…`) on one router.
enum SimRouter {
    static func make(platform: SimPlatform, configuration: SimulatorConfiguration) -> Router<BasicRequestContext> {
        let router = Router()
        addPlatformRoutes(router, platform: platform, configuration: configuration)
        SimControlRoutes.add(to: router, platform: platform)
        SimChaosRoutes.add(to: router, platform: platform)
        return router
    }

    /// The request body as JSON (nil when empty or not JSON).
    static func body(_ request: Request, limit: Int) async -> (json: JSONBody?, raw: Data) {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: limit) else { return (nil, Data()) }
        let data = Data(buffer.readableBytesView)
        return (JSONBody.parse(data), data)
    }

    private static func addPlatformRoutes(_ router: Router<BasicRequestContext>, platform: SimPlatform,
                                          configuration: SimulatorConfiguration) {
        router.post("/app/getAppAccessToken") { request, _ -> Response in
            if let odd = await platform.takeOddResponse(.token) {
                await platform.noteTokenRequest()
                return await oddAnswer(odd, clock: platform.clock)
            }
            let (json, _) = await body(request, limit: 64 * 1024)
            let appID = json?["appId"]?.string ?? json?["appId"]?.int.map(String.init) ?? ""
            let secret = json?["clientSecret"]?.string ?? ""
            guard let issued = await platform.issueToken(appID: appID, secret: secret) else {
                return SimJSON.error(code: 100016, message: "invalid appid or secret", status: .unauthorized)
            }
            // The platform sends expires_in as a string; several SDKs break on a number.
            return SimJSON.response(["access_token": issued.token, "expires_in": String(issued.expiresIn)])
        }

        router.get("/users/@me") { request, _ -> Response in
            if let odd = await platform.takeOddResponse(.api) { return await oddAnswer(odd, clock: platform.clock) }
            if let refusal = await platform.checkAuthorization(request.headers[.authorization]) {
                return SimJSON.error(code: refusal.code, message: refusal.message, status: .unauthorized)
            }
            return SimJSON.response(["id": configuration.botID, "username": configuration.botName,
                                     "avatar": "https://thirdqq.qlogo.cn/sim/0", "union_openid": "",
                                     "union_user_account": ""])
        }

        router.get("/gateway") { request, _ -> Response in
            if let odd = await platform.takeOddResponse(.api) { return await oddAnswer(odd, clock: platform.clock) }
            if let refusal = await platform.checkAuthorization(request.headers[.authorization]) {
                return SimJSON.error(code: refusal.code, message: refusal.message, status: .unauthorized)
            }
            return SimJSON.response(["url": await platform.gatewayURL()])
        }

        router.get("/gateway/bot") { request, _ -> Response in
            if let odd = await platform.takeOddResponse(.api) { return await oddAnswer(odd, clock: platform.clock) }
            if let refusal = await platform.checkAuthorization(request.headers[.authorization]) {
                return SimJSON.error(code: refusal.code, message: refusal.message, status: .unauthorized)
            }
            struct Limit: Encodable { var total = 1000; var remaining = 1000; var reset_after = 86_400_000; var max_concurrency = 1 }
            struct GatewayBot: Encodable { var url: String; var shards: Int; var session_start_limit = Limit() }
            return SimJSON.response(GatewayBot(url: await platform.gatewayURL(), shards: configuration.recommendedShards))
        }

        // The presigned part URLs of chunked uploads (no QQ credentials: like the platform's object store).
        router.put("/sim/upload/:id/:index") { request, context -> Response in
            let id = try context.parameters.require("id")
            let index = Int(try context.parameters.require("index")) ?? 0
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 64 << 20) else { return Response(status: .contentTooLarge) }
            let status = await platform.receivePart(uploadID: id, index: index, data: Data(buffer.readableBytesView))
            return Response(status: .init(code: status))
        }

        router.put("/interactions/:target") { request, context -> Response in
            try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes, method: "PUT") { id, path, json in
                await platform.acknowledge(interaction: id, body: json, path: path)
            }
        }

        for (prefix, isGroup) in [("/v2/users/:target", false), ("/v2/groups/:target", true)] {
            router.post(RouterPath(prefix + "/messages")) { request, context -> Response in
                try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes) { target, path, json in
                    await platform.send(isGroup: isGroup, target: target, path: path, body: json)
                }
            }
            if !isGroup {
                router.post(RouterPath(prefix + "/stream_messages")) { request, context -> Response in
                    try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes) { target, path, json in
                        await platform.streamMessage(target: target, path: path, body: json)
                    }
                }
            }
            router.delete(RouterPath(prefix + "/messages/:message")) { request, context -> Response in
                let message = try context.parameters.require("message")
                return try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes, method: "DELETE") { target, path, _ in
                    await platform.recall(isGroup: isGroup, target: target, messageID: message, path: path)
                }
            }
            router.post(RouterPath(prefix + "/upload_prepare")) { request, context -> Response in
                try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes) { target, path, json in
                    await platform.prepareUpload(isGroup: isGroup, target: target, path: path, body: json)
                }
            }
            router.post(RouterPath(prefix + "/upload_part_finish")) { request, context -> Response in
                try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes) { _, path, json in
                    await platform.finishPart(path: path, body: json)
                }
            }
            router.post(RouterPath(prefix + "/files")) { request, context -> Response in
                try await handle(request, context, platform: platform, limit: configuration.maxBodyBytes) { target, path, json in
                    await platform.upload(isGroup: isGroup, target: target, path: path, body: json)
                }
            }
        }
    }

    /// Authorization, body, and the platform's answer for a send/upload endpoint.
    private static func handle(_ request: Request, _ context: BasicRequestContext, platform: SimPlatform, limit: Int,
                               method: String = "POST", _ apply: (String, String, JSONBody?) async -> SendOutcome) async throws -> Response {
        let target = try context.parameters.require("target")
        let path = request.uri.path
        if let odd = await platform.takeOddResponse(.api) {
            await platform.record(method: method, path: path, body: nil, status: odd.status, code: nil,
                                  message: "odd response injected", id: nil)
            return await oddAnswer(odd, clock: platform.clock)
        }
        if let refusal = await platform.checkAuthorization(request.headers[.authorization]) {
            return SimJSON.error(code: refusal.code, message: refusal.message, status: .unauthorized)
        }
        let (json, _) = await body(request, limit: limit)
        await platform.noteRequest(path: path, body: json)
        let outcome = await apply(target, path, json)
        if let delay = await platform.takeDelay() { try? await platform.clock.sleep(.milliseconds(delay)) }
        if outcome.status == 200, let garbled = await platform.takeGarble() {
            // Processed, but answered oddly (no id, empty, not JSON, a 5xx): clients must cope.
            return await oddAnswer(garbled, clock: platform.clock)
        }
        guard outcome.status == 200 else {
            return SimJSON.error(code: outcome.code ?? 0, message: outcome.message ?? "refused",
                                 status: .init(code: outcome.status))
        }
        var answer = outcome.extra
        if let id = outcome.id {
            answer["id"] = .string(id)
            answer["timestamp"] = .string(SimJSON.timestamp(platform.configuration.clock.now()))
        }
        return SimJSON.response(JSONBody.object(answer))
    }
}

extension SimRouter {
    /// Sends an injected answer exactly as given (after its delay, on the platform's clock: a test on a
    /// manual clock holds the answer until it advances time).
    static func oddAnswer(_ odd: OddResponse, clock: SimClock) async -> Response {
        if odd.delayMs > 0 { try? await clock.sleep(.milliseconds(odd.delayMs)) }
        var headers: HTTPFields = [.contentLength: String(odd.body.utf8.count)]
        if let type = odd.contentType { headers[.contentType] = type }
        return Response(status: .init(code: odd.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: odd.body)))
    }
}

extension SimPlatform {
    /// The WebSocket URL clients are told to use.
    func gatewayURL() -> String {
        baseURL.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://") + "/websocket"
    }
}
