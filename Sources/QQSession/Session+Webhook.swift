import Foundation

extension Session {
    /// Listens for the platform's signed callbacks and feeds them to the same inbound pipeline.
    func startWebhook() {
        let (emit, policy, queue, counters, clock, logger) = (continuation, configuration.webhook, queue, webhookCounters, clock, logger)
        guard let signature = WebhookSignature(secret: configuration.appSecret) else {
            emit.yield(.notice(Notice(level: .error, kind: .gatewayError, message: "webhook: no app secret to verify callbacks with")))
            return
        }
        let endpoint = WebhookEndpoint(
            path: policy.path, signature: signature, replayWindow: policy.replayWindow.seconds, maxBodyBytes: policy.maxBodyBytes,
            now: { clock.date },
            deliver: { frame in
                await withCheckedContinuation { done in
                    if !queue.push(.webhook(frame, ack: WebhookAck { done.resume(returning: $0) })) { done.resume(returning: false) }
                }
            },
            counters: counters)
        let path = policy.path
        counters.observe { snapshot in
            var status = GatewayStatus(phase: .webhook(address: (snapshot.secure ? "https://" : "http://") + (snapshot.listening ?? "?") + path,
                                                       accepted: snapshot.accepted, refused: snapshot.refused))
            status.lastError = snapshot.lastRefusal.map { "last refused: " + $0 }
            emit.yield(.gateway(status))
        }
        webhookTask = Task.detached {
            do {
                let tls = try policy.tlsCertificate.map { try WebhookServer.tls(certificate: $0, key: policy.tlsKey ?? "") }
                let channel = try await WebhookServer.bind(host: policy.host, port: policy.port, tls: tls)
                let port = channel.channel.localAddress?.port ?? policy.port
                counters.listening(on: "\(policy.host):\(port)", secure: tls != nil)
                emit.yield(.notice(Notice(level: .info, kind: .gatewayError,
                                          message: "listening for webhook callbacks on \(tls == nil ? "http" : "https")://\(policy.host):\(port)\(policy.path)")))
                await WebhookServer(endpoint: endpoint, logger: logger).run(channel)
            } catch {
                emit.yield(.notice(Notice(level: .error, kind: .gatewayError, message: "\(error)")))
            }
        }
    }
}
