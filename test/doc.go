// Package test holds Landform's end-to-end tests: real terraform with real
// providers from the offline mirror, real git repositories, and the real
// services the tests start on loopback. Fixtures live in testdata/; the
// harness is in test/tftest.
package test
