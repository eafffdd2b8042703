package chatops

// Internals for the fuzzers of package chatops_test.
var (
	SplitWords = splitWords
	QuoteWord  = quoteWord
)
