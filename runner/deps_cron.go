package runner

// Held until the drift scheduler uses it.
import _ "github.com/robfig/cron/v3"
