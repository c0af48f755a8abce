package remotewrite

import (
	"testing"
)

// BenchmarkPlan is the request plan without HTTP: group, guard, shard, cut,
// encode and compress every request, as one Write does for its shards.
func BenchmarkPlan(b *testing.B) {
	for _, sz := range benchSizes {
		in := datapoints(sz.groups, sz.groups/5+1, 7)
		b.Run(sz.name, func(b *testing.B) {
			var p plan
			var bufs buffers
			ids := make([][]int32, DefaultConcurrency)
			b.ReportAllocs()
			for b.Loop() {
				p.group(in, limits{70, 1024, 2048})
				for s := range ids {
					ids[s] = ids[s][:0]
				}
				for id := range p.series {
					s := p.series[id].hash % DefaultConcurrency
					ids[s] = append(ids[s], int32(id))
				}
				for s := range ids {
					p.compress(p.cut(ids[s], DefaultMaxSamplesPerRequest, DefaultMaxBytesPerRequest), &bufs)
				}
			}
			b.ReportMetric(float64(len(in)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
