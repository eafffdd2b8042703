//go:build !linux

package terraform

import "context"

// interrupt, without /proc to find the job's processes, falls back on
// terraform-exec's own cancellation: SIGINT to terraform, and SIGKILL to
// terraform alone when it has not exited after the engine's grace period
// (its wait delay). Providers a killed terraform leaves behind keep running.
func (j *Job) interrupt(_ <-chan struct{}, cancelTF context.CancelFunc) {
	cancelTF()
}

func (j *Job) killLeftovers() {}
