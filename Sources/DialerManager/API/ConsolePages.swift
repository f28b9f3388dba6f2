public import DialerRuntime
import Foundation

/// The campaign manager's console (`/console/`) and the supervisor's live panel
/// (`/console/live`): HTML, CSS and JavaScript modules copied into the target's resource bundle
/// (`Pages/console`) and served from memory.
public enum ConsolePages {
    /// The console's files, read once.
    public static let assets: StaticAssets = load()

    private static func load() -> StaticAssets {
        guard
            let directory = Bundle.module.url(forResource: "Pages", withExtension: nil)?.appendingPathComponent(
                "console"),
            let assets = try? StaticAssets(directory: directory)
        else {
            // A process installed without its resource bundle serves no pages; its API still works.
            return StaticAssets(assets: [:])
        }
        return assets
    }
}
