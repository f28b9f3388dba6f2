import DialerCore
import DialerMedia

/// `dialer-bench --only amd --corpus DIR`: answering-machine detection over a labeled corpus
/// (made by `scripts/amd-corpus.sh`), as a confusion table in Markdown.
public enum AMDBenchmark {
    /// The table with Asterisk's defaults but `silenceThreshold`, then one line per recording
    /// when `verbose`.
    public static func report(corpus: String, silenceThreshold: Int = 256, verbose: Bool = false) throws -> String {
        var settings = AMDSettings()
        settings.silenceThreshold = silenceThreshold
        let table = try AMDCorpus.evaluate(directory: corpus, settings: settings)
        var text = table.markdown()
        if verbose {
            text += "\n\n" + table.results.map { "\($0.file): \($0.verdict)" }.joined(separator: "\n")
        }
        return text
    }
}
