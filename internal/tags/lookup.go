package tags

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Resource is one tagged resource as the Tagging API returns it.
type Resource struct {
	ARN  string
	Tags []Tag
}

// Tag is one resource tag, key and value exactly as set.
type Tag struct {
	Key, Value string
}

// Lookup finds the tagged resources of some types in one region. It is
// called off the record path, from one goroutine per region at a time.
type Lookup interface {
	Resources(ctx context.Context, region string, resourceTypes []string) ([]Resource, error)
}

// PageSize is the ResourcesPerPage asked for: the API's maximum, so that a
// lookup costs as few calls as it can.
const PageSize = 100

// API looks tags up with the Resource Groups Tagging API (tag:GetResources),
// one client per region, following every page. It sees the resources of the
// account its credentials belong to.
type API struct {
	cfg      aws.Config
	mu       sync.Mutex
	clients  map[string]*rgt.Client
	requests atomic.Int64
}

var _ Lookup = (*API)(nil)

// NewAPI returns a Lookup over cfg: its credentials, retry settings and
// endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API
// or a BaseEndpoint) are used for every region.
func NewAPI(cfg aws.Config) *API {
	return &API{cfg: cfg, clients: make(map[string]*rgt.Client)}
}

// Requests returns the GetResources calls made so far.
func (a *API) Requests() int64 { return a.requests.Load() }

func (a *API) client(region string) *rgt.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.clients[region]
	if !ok {
		c = rgt.NewFromConfig(a.cfg, func(o *rgt.Options) {
			o.Region = region
			// The SDK prefers Smithy RPC v2 CBOR since v1.42.0; the API
			// also speaks AWS JSON 1.1, which moto_server and other
			// stand-ins (AWS_ENDPOINT_URL) serve too.
			o.Protocol = awsjson.New11(schemas.ResourceGroupsTaggingAPI_20170126)
		})
		a.clients[region] = c
	}
	return c
}

// Resources returns every resource of resourceTypes in region with its tags.
func (a *API) Resources(ctx context.Context, region string, resourceTypes []string) ([]Resource, error) {
	p := rgt.NewGetResourcesPaginator(a.client(region), &rgt.GetResourcesInput{
		ResourceTypeFilters: resourceTypes,
		ResourcesPerPage:    aws.Int32(PageSize),
	})
	var out []Resource
	for page := 1; p.HasMorePages(); page++ {
		a.requests.Add(1)
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("tag:GetResources in %s, page %d: %w", region, page, err)
		}
		for _, m := range res.ResourceTagMappingList {
			r := Resource{ARN: aws.ToString(m.ResourceARN)}
			for _, t := range m.Tags {
				r.Tags = append(r.Tags, Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
			}
			out = append(out, r)
		}
	}
	return out, nil
}
