public import DialerRuntime
import Foundation

/// The agent's desktop (`/agent/`): HTML, CSS and JavaScript modules copied into the target's
/// resource bundle (`Pages/agent`) and served from memory.
public enum DesktopPages {
    /// The desktop's files, read once.
    public static let assets: StaticAssets = load()

    private static func load() -> StaticAssets {
        guard
            let directory = Bundle.module.url(forResource: "Pages", withExtension: nil)?.appendingPathComponent(
                "agent"),
            let assets = try? StaticAssets(directory: directory)
        else {
            // A process installed without its resource bundle serves no pages; its API still works.
            return StaticAssets(assets: [:])
        }
        return assets
    }
}
