import Foundation

/// Where effects post what came of them: the UI thread's inbox, or (in serve) an attached console's queue.
protocol AppEventSink: Sendable {
    func post(_ event: AppEvent)
}
