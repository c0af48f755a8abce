// Package e2ebench measures the replay path end to end against its floor:
// it generates a large raw object of OpenTelemetry 0.7 frames (the format
// CloudWatch metric streams write and the recorded payloads hold), runs the
// real `cwstream replay` binary on it against a loopback sink that decodes
// every remote-write request and counts its samples, and measures, in the
// same run, the floor: the work no implementation can skip (one protobuf
// scan of the input and snappy of bodies the size of what was sent).
//
// It reports CPU (user+sys, from the child's rusage), the ratio to the
// floor, peak RSS (the child's ru_maxrss) and whether every sample arrived.
// It is a benchmark: it prints figures and fails only when samples are
// missing, never on a time (`make bench-e2e` runs it).
package e2ebench
