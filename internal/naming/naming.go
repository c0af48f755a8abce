// Package naming is cwstream's series naming contract: the metric and label
// names YACE (prometheus-community/yet-another-cloudwatch-exporter) gives
// CloudWatch metrics, so dashboards built on YACE work unchanged.
//
//	name  = "aws_" + ns + "_" + metric + "_" + statistic
//	label = "dimension_" + Name (case kept), value unchanged
//
// Names are computed once per (namespace, metric) and statistic and cached;
// see Cache.
package naming

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Statistic is one of the five basic CloudWatch statistics. It indexes
// Statistics and Names.Stat, so code names a statistic instead of counting
// positions.
type Statistic uint8

// The basic statistics, in the order series are emitted.
const (
	Minimum Statistic = iota
	Maximum
	Sum
	SampleCount
	Average
)

// Statistics lists the basic statistics in the order series are emitted.
var Statistics = [...]Statistic{Minimum, Maximum, Sum, SampleCount, Average}

// suffixes are the statistics' series name suffixes, indexed by Statistic.
var suffixes = [len(Statistics)]string{"minimum", "maximum", "sum", "sample_count", "average"}

// String returns the series name suffix: minimum, maximum, sum,
// sample_count or average.
func (s Statistic) String() string { return suffixes[s] }

// StatisticNames returns the suffixes of the basic statistics, in order:
// what a configuration file lists.
func StatisticNames() []string { return slices.Clone(suffixes[:]) }

// ParseStatistic returns the basic statistic whose suffix is name.
func ParseStatistic(name string) (Statistic, bool) {
	i := slices.Index(suffixes[:], name)
	return Statistic(i), i >= 0
}

// The label names cwstream sets besides __name__ and the external labels.
const (
	// LabelAccountID holds the stream resource's AWS account.
	LabelAccountID = "account_id"
	// LabelRegion holds the stream resource's AWS region.
	LabelRegion = "region"
	// DimensionPrefix starts the label of every CloudWatch dimension.
	DimensionPrefix = "dimension_"
)

// PromString turns a CloudWatch name into a Prometheus name part the way
// YACE does: each of ` ,\t/\.-:=@<>()` becomes "_", "%" becomes "_percent",
// an "_" goes before an upper-case letter that follows a lower-case letter
// or a digit, and everything is lower-cased. Any other character that a
// Prometheus name cannot hold also becomes "_" (YACE would emit a name the
// store rejects); names made of valid characters are exactly YACE's.
func PromString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	var prev rune // the previous character as given, before any change
	for _, r := range s {
		switch {
		case isReplaced(r):
			b.WriteByte('_')
		case r == '%':
			b.WriteString("_percent")
		default:
			if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) {
				b.WriteByte('_')
			}
			if l := unicode.ToLower(r); isNameChar(l) {
				b.WriteRune(l)
			} else {
				b.WriteByte('_')
			}
		}
		prev = r
	}
	return b.String()
}

// LabelName is the label for a CloudWatch dimension: DimensionPrefix and the
// dimension name with PromString's character replacement, its case kept.
func LabelName(dimension string) string {
	var b strings.Builder
	b.Grow(len(DimensionPrefix) + len(dimension) + 4)
	b.WriteString(DimensionPrefix)
	for _, r := range dimension {
		switch {
		case r == '%':
			b.WriteString("_percent")
		case isReplaced(r) || !isNameChar(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isReplaced(r rune) bool {
	switch r {
	case ' ', ',', '\t', '/', '\\', '.', '-', ':', '=', '@', '<', '>', '(', ')':
		return true
	}
	return false
}

// isNameChar reports whether r may stand in a Prometheus metric or label
// name after the first character.
func isNameChar(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// Namespace returns the namespace part of a name: PromString of the lower-
// cased namespace without a leading "/".
func Namespace(ns string) string {
	return PromString(strings.ToLower(strings.TrimPrefix(ns, "/")))
}

// Base returns the name of a (namespace, metric) without the statistic:
// "aws_" + ns + "_" + metric, where "aws_" is not doubled and a leading part
// of the metric that repeats a part of ns is dropped, as YACE does
// (AWS/Glue + glue.driver.aggregate.bytesRead → aws_glue_driver_aggregate_bytes_read).
func Base(namespace, metric string) string {
	ns := Namespace(namespace)
	m := PromString(metric)
	for _, part := range strings.Split(ns, "_") {
		m = strings.TrimPrefix(m, part)
	}
	m = strings.TrimPrefix(m, "_")
	var b strings.Builder
	b.Grow(len("aws_") + len(ns) + 1 + len(m))
	// YACE's rule, kept for compatibility: a namespace starting with "aws"
	// (AWS/…, /aws/…, but also AWSome/…) gets no second prefix.
	if !strings.HasPrefix(ns, "aws") {
		b.WriteString("aws_")
	}
	b.WriteString(ns)
	b.WriteByte('_')
	b.WriteString(m)
	return b.String()
}

// Name returns the full series name of a (namespace, metric, statistic).
func Name(namespace, metric, statistic string) string {
	return Base(namespace, metric) + "_" + statistic
}

// Percentile returns the statistic suffix of quantile q in (0, 1): "p" and
// q×100 rounded to two decimals without trailing zeros, through PromString:
// 0.5 → p50, 0.99 → p99, 0.999 → p99_9.
func Percentile(q float64) string {
	pct := math.Round(q*100*100) / 100
	return PromString("p" + strconv.FormatFloat(pct, 'f', -1, 64))
}
