// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "qqtui",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "qqtui", targets: ["QQTUI"]),
        .library(name: "QQSession", targets: ["QQSession"]),
        .library(name: "QQSimulator", targets: ["QQSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CNcurses",
            path: "Sources/CNcurses",
            providers: [.apt(["libncurses-dev"])]
        ),
        .target(
            name: "QQSession",
            dependencies: [
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .target(
            name: "QQSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "QQTUI",
            dependencies: [
                "QQSession",
                "QQSimulator",
                "CNcurses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // Seeded random input for the fuzz tests (shared by the test targets; not part of any product).
        .target(
            name: "FuzzSupport",
            dependencies: ["TestSupport"],
            path: "Tests/FuzzSupport"
        ),
        // What every test target shares: waiting for a condition, the simulator on a manual clock.
        .target(
            name: "TestSupport",
            dependencies: ["QQSession", "QQSimulator"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "QQSessionTests",
            dependencies: ["QQSession", "QQSimulator", "FuzzSupport", "TestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "WSClient", package: "swift-websocket")]
        ),
        .testTarget(
            name: "QQSimulatorTests",
            dependencies: [
                "QQSimulator",
                "QQSession",
                "TestSupport",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "QQTUITests",
            dependencies: ["QQTUI", "QQSession", "QQSimulator", "FuzzSupport", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            // The console's screen snapshots are read by path from the package root, not bundled.
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// scripts/fuzz only: a libFuzzer binary over QQSession's parsers (needs -sanitize=fuzzer on every target).
if Context.environment["QQTUI_LIBFUZZER"] == "1" {
    package.targets.append(.executableTarget(
        name: "qqtui-libfuzzer", dependencies: ["QQSession"], path: "Fuzz/LibFuzzer"))
}
