package gitrepo

// ValidLedgerPath is validLedgerPath, for the tests of package gitrepo_test.
var ValidLedgerPath = validLedgerPath
