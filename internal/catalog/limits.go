package catalog

import "time"

// Limits on what one Parse reads. Each keeps the work of a hostile input
// proportional to its size: the YAML parser's time or memory grows with
// the square of nesting depth, of documents per file and of keys per
// mapping, and it keeps hundreds of bytes per value. Catalog files need a
// small part of each limit; the bytes are checked against them before the
// YAML parser sees them, and a file over a limit is reported once, at the
// place where it goes over, and not parsed.
const (
	// MaxFileSize is the largest catalog file, in bytes: the request body
	// limit of the server.
	MaxFileSize = 32 << 20
	// MaxDocumentsPerFile is the most YAML documents (separated by ---)
	// in one file.
	MaxDocumentsPerFile = 10_000
	// MaxDocumentNodes is the most YAML nodes in one document: keys,
	// values, list items and comments. A Service or Team needs under a
	// hundred, a Sloth spec about ten per SLO.
	MaxDocumentNodes = 100_000
	// MaxNodes is the most YAML nodes in all the files of one Parse,
	// about 45 MiB of typical catalog files. The YAML parser takes about
	// 2 µs a node, whatever its size, so this bounds the time of a Parse
	// to seconds.
	MaxNodes = 4_000_000
	// MaxNesting is the deepest nesting of mappings, lists and flow
	// collections ([...] and {...}); catalog documents need at most about
	// ten levels.
	MaxNesting = 32
	// MaxMappingKeys is the most keys in one mapping; the largest
	// catalog mappings, labels and annotations, have a few dozen.
	MaxMappingKeys = 256
	// MaxLineLength is the longest line, in bytes.
	MaxLineLength = 16 << 10
	// MaxScalarLength is the longest value written over several lines
	// (a block scalar, or a quoted or plain one), in bytes.
	MaxScalarLength = 64 << 10
	// MaxAliasExpansion bounds what aliases (*name) add to a file: what
	// they refer to, in bytes, at most this many times the file's size
	// (plus 64 KiB), so a file cannot make tsuna read the same YAML over
	// and over.
	MaxAliasExpansion = 2

	// MaxDiagnosticsPerFile is the most diagnostics reported for one
	// file; one more says how many were left out.
	MaxDiagnosticsPerFile = 100
	// MaxDiagnostics is the most diagnostics one Parse returns; one more
	// says how many were left out.
	MaxDiagnostics = 1_000
	// MaxSourceExcerpt is the most characters of the source line a
	// diagnostic carries: the text around its column, cut with "…".
	MaxSourceExcerpt = 200
	// MaxMessageLength is the longest diagnostic message, in bytes: a
	// longer one (it quotes a long value) is cut in the middle with "…".
	MaxMessageLength = 1_000
	// MaxSuggestionLength is the longest name, in bytes, for which a
	// diagnostic suggests a close match ("did you mean").
	MaxSuggestionLength = 64

	// MinSLOWindow and MaxSLOWindow bound the rolling window of an SLO.
	MinSLOWindow = 24 * time.Hour
	MaxSLOWindow = 365 * 24 * time.Hour
)

// Limits that need not be tuned.
const (
	// groupDocuments and groupBytes bound the documents handed to the
	// YAML parser at once: each call costs a fixed setup, and the cost of
	// a call grows with the square of its documents.
	groupDocuments = 16
	groupBytes     = 64 << 10
	// aliasSlack is what aliases may add to any file, on top of
	// MaxAliasExpansion times its size.
	aliasSlack = 64 << 10
	// suggestionWork bounds the edit-distance cells that "did you mean"
	// computes in the checks across files (about a tenth of a second):
	// a catalog of many long names gets fewer suggestions, not a slow lint.
	suggestionWork = 100_000_000
)
