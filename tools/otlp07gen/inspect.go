package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/golang/protobuf/proto"
	colpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
)

// inspect prints how a raw payload is shaped: per frame, the resource attributes, the
// instrumentation library, units, label order, time windows and quantile sets. It is how
// the shape in shape.go was learned from real deliveries.
func inspect(w io.Writer, name string, rec []byte) error {
	spans, splitErr := splitFrames(rec)
	fmt.Fprintf(w, "%s: %d bytes, %d frames\n", name, len(rec), len(spans))
	units := map[string]int{}
	qsets := map[string]int{}
	windows := map[uint64]int{}
	attrSets := map[string]int{}
	libs := map[string]int{}
	pointsPerMetric := map[int]int{}
	namespaces := map[string]int{}
	sorted, unsorted, nameMismatch, descriptions, points, metrics := 0, 0, 0, 0, 0, 0
	for fi, sp := range spans {
		var req colpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(rec[sp.Start:sp.End], &req); err != nil {
			return fmt.Errorf("frame %d at byte %d: %w", fi, sp.Offset, err)
		}
		fpoints := 0
		for _, rm := range req.ResourceMetrics {
			var keys []string
			for _, kv := range rm.GetResource().GetAttributes() {
				keys = append(keys, fmt.Sprintf("%s=%q", kv.Key, kv.GetValue().GetStringValue()))
			}
			attrSets[strings.Join(keys, " ")]++
			for _, ilm := range rm.InstrumentationLibraryMetrics {
				libs[fmt.Sprintf("%v", ilm.InstrumentationLibrary)]++
				for _, m := range ilm.Metrics {
					metrics++
					if m.Description != "" {
						descriptions++
					}
					units[m.Unit]++
					ds := m.GetDoubleSummary()
					if ds == nil {
						fmt.Fprintf(w, "  frame %d: metric %q is %T, not a DoubleSummary\n", fi, m.Name, m.Data)
						continue
					}
					pointsPerMetric[len(ds.DataPoints)]++
					for _, dp := range ds.DataPoints {
						points++
						fpoints++
						windows[dp.TimeUnixNano-dp.StartTimeUnixNano]++
						var dims []string
						ns, mn := "", ""
						for i, l := range dp.Labels {
							switch {
							case i == 0 && l.Key == "Namespace":
								ns = l.Value
							case i == 1 && l.Key == "MetricName":
								mn = l.Value
							default:
								dims = append(dims, l.Key)
							}
						}
						namespaces[ns]++
						if m.Name != "amazonaws.com/"+ns+"/"+mn {
							nameMismatch++
						}
						if slices.IsSorted(dims) {
							sorted++
						} else {
							unsorted++
						}
						var qs []string
						for _, q := range dp.QuantileValues {
							qs = append(qs, fmt.Sprint(q.Quantile))
						}
						qsets[strings.Join(qs, ",")]++
					}
				}
			}
		}
		fmt.Fprintf(w, "  frame %d at byte %d: %d bytes, %d resource metrics, %d data points\n", fi, sp.Offset, sp.End-sp.Start, len(req.ResourceMetrics), fpoints)
	}
	fmt.Fprintf(w, "metrics %d, data points %d, descriptions %d, name != amazonaws.com/<Namespace>/<MetricName>: %d\n", metrics, points, descriptions, nameMismatch)
	fmt.Fprintf(w, "labels: Namespace, MetricName first; dimensions sorted by name in %d points, unsorted in %d\n", sorted, unsorted)
	printCounts(w, "resource attributes", attrSets)
	printCounts(w, "instrumentation library", libs)
	printCounts(w, "units", units)
	printCounts(w, "quantile sets", qsets)
	printCounts(w, "namespaces", namespaces)
	fmt.Fprintf(w, "time - start (ns): %v\n", windows)
	fmt.Fprintf(w, "data points per Metric: %v\n", pointsPerMetric)
	return splitErr
}

func printCounts(w io.Writer, title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "  %6d  %s\n", m[k], k)
	}
}
