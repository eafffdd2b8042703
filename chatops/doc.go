// Package chatops reads Landform's commands wherever people type them: a
// pull request comment, a Slack slash command, the CLI and the API all share
// one grammar.
//
//	landform plan [-w WORKSPACE]...
//	landform approve RUN|all [--override-policy REASON]
//	landform apply [RUN | -w WORKSPACE...]
//	landform unlock [-w WORKSPACE]
//	landform help [COMMAND]
//
// ParseComment finds the command in a comment, ParseText reads a slash
// command's text (or any text without the leading "landform"), ParseArgs
// reads words already split (the CLI's). All three return the same
// Command, or a *UsageError whose Usage is the text to reply with. A
// Command's String is the canonical text of the command, which parses back
// to the same Command.
//
// VerifySlack checks Slack's request signature, and ParseSlackCommand reads
// the slash command payload it signs.
package chatops
