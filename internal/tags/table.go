package tags

import (
	"regexp"
	"strings"

	"github.com/cwstream/cwstream/internal/cw"
)

// A kind is one resource type of the Resource Groups Tagging API and how its
// ARN names the CloudWatch dimensions that identify it.
type kind struct {
	// filter is the ResourceTypeFilters value (service:type).
	filter string
	// arn matches the ARN's resource part; its submatches are the values of
	// dims, in order.
	arn  *regexp.Regexp
	dims []string
}

// namespace is one CloudWatch namespace whose resources get info series.
type namespace struct {
	name  string // CloudWatch namespace, e.g. AWS/RDS
	kinds []int  // indexes into kinds
}

// The mapping, after YACE's pkg/config/services.go (see the package doc for
// the table). The ARNs are matched whole, from the partition on, so that a
// resource of another service can never pass for one of these.
var kinds = []kind{
	{"rds:db", regexp.MustCompile(`^arn:[^:]+:rds:[^:]+:[0-9]+:db:([^/:]+)$`), []string{"DBInstanceIdentifier"}},
	{"rds:cluster", regexp.MustCompile(`^arn:[^:]+:rds:[^:]+:[0-9]+:cluster:([^/:]+)$`), []string{"DBClusterIdentifier"}},
	// YACE filters with elasticloadbalancing:loadbalancer/app; the Tagging
	// API's documented form is service:type, which moto also understands,
	// so cwstream asks for every load balancer and keeps the ALBs by ARN.
	{"elasticloadbalancing:loadbalancer", regexp.MustCompile(`^arn:[^:]+:elasticloadbalancing:[^:]+:[0-9]+:loadbalancer/(app/[^/]+/[^/]+)$`), []string{"LoadBalancer"}},
	{"elasticloadbalancing:targetgroup", regexp.MustCompile(`^arn:[^:]+:elasticloadbalancing:[^:]+:[0-9]+:(targetgroup/[^/]+/[^/]+)$`), []string{"TargetGroup"}},
	{"ecs:cluster", regexp.MustCompile(`^arn:[^:]+:ecs:[^:]+:[0-9]+:cluster/([^/]+)$`), []string{"ClusterName"}},
	// Only the long service ARN names its cluster; a service with the old
	// short ARN (service/<name>) cannot be matched, as in YACE.
	{"ecs:service", regexp.MustCompile(`^arn:[^:]+:ecs:[^:]+:[0-9]+:service/([^/]+)/([^/]+)$`), []string{"ClusterName", "ServiceName"}},
}

var namespaces = []namespace{
	{"AWS/RDS", []int{0, 1}},
	{"AWS/ApplicationELB", []int{2, 3}},
	{"AWS/ECS", []int{4, 5}},
	{"ECS/ContainerInsights", []int{4, 5}},
}

// ResourceTypes lists the ResourceTypeFilters values cwstream understands,
// in the order of the mapping table: the default of Config.ResourceTypes.
func ResourceTypes() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.filter
	}
	return out
}

// Namespaces lists the CloudWatch namespaces whose resources get info
// series.
func Namespaces() []string {
	out := make([]string, len(namespaces))
	for i, ns := range namespaces {
		out[i] = ns.name
	}
	return out
}

func kindIndex(filter string) int {
	for i, k := range kinds {
		if k.filter == filter {
			return i
		}
	}
	return -1
}

// ARN is a parsed resource ARN: its account, region and the kind of
// resource it names with that kind's dimension values.
type ARN struct {
	Account, Region string
	// Kind is the ResourceTypeFilters value of the resource's type.
	Kind string
	// Dimensions are the CloudWatch dimensions that identify the resource,
	// in the mapping table's order, values exactly as in the ARN.
	Dimensions []Dimension

	kind int
}

// Dimension is one CloudWatch dimension that identifies a resource.
type Dimension struct {
	Name, Value string
}

// ParseARN parses the ARN of a resource of one of the supported kinds. ok is
// false for any other ARN (another service, a network load balancer, an ECS
// service with a short ARN).
func ParseARN(arn string) (a ARN, ok bool) {
	// arn:partition:service:region:account:resource
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, false
	}
	for i, k := range kinds {
		m := k.arn.FindStringSubmatch(arn)
		if m == nil {
			continue
		}
		a = ARN{Account: parts[4], Region: parts[3], Kind: k.filter, kind: i}
		for j, d := range k.dims {
			a.Dimensions = append(a.Dimensions, Dimension{Name: d, Value: m[j+1]})
		}
		return a, true
	}
	return ARN{}, false
}

// ResourceIDs appends to dst an identifier of every resource u belongs to
// (the kinds of u's namespace whose dimensions u carries): the same
// resource gives the same identifier in any namespace. It allocates, so it
// is for counting (internal/cost), not for the record path (Observe).
func ResourceIDs(dst []string, u *cw.Update) []string {
	for _, ns := range namespaces {
		if ns.name != u.Namespace {
			continue
		}
		for _, k := range ns.kinds {
			if v, ok := kindValues(u, k); ok {
				dst = append(dst, u.AccountID+"|"+kinds[k].filter+"|"+v[0]+"|"+v[1])
			}
		}
	}
	return dst
}
