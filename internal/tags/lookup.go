package tags

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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

// Lookup finds the tagged resources of some types in one account and
// region. It is called off the record path, from one goroutine per account
// and region at a time.
type Lookup interface {
	// Resources looks up account's resources in region; account "" is the
	// account the Lookup's own credentials belong to.
	Resources(ctx context.Context, account, region string, resourceTypes []string) ([]Resource, error)
}

// ErrNotAnAccount is the error of a lookup in an "account" that is no
// AWS account id (12 digits): input that did not come from CloudWatch.
// It is never put into a role ARN.
var ErrNotAnAccount = errors.New("not an AWS account id (12 digits)")

// ErrNoRole is the error of a lookup in another account when no role to
// assume there is configured (tags.role_arn).
var ErrNoRole = errors.New("tags.role_arn is not set, so only the function's own account can be looked up")

// PageSize is the ResourcesPerPage asked for: the API's maximum, so that a
// lookup costs as few calls as it can.
const PageSize = 100

// API looks tags up with the Resource Groups Tagging API (tag:GetResources),
// one client per account and region, following every page. The API only
// answers for the account of the caller's credentials, so another account
// is looked up with the credentials of a role assumed there (RoleARN).
type API struct {
	cfg  aws.Config
	role string // RoleARN template; "" looks up the own account only

	mu       sync.Mutex
	clients  map[scope]*rgt.Client
	creds    map[string]aws.CredentialsProvider // by account
	self     string                             // the credentials' account, once known
	requests atomic.Int64
}

var _ Lookup = (*API)(nil)

// NewAPI returns a Lookup over cfg: its credentials, retry settings and
// endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API
// or a BaseEndpoint) are used for every region. role is tags.role_arn: the
// role to assume in another account, with {account} standing for its id;
// "" confines lookups to cfg's own account.
func NewAPI(cfg aws.Config, role string) *API {
	return &API{cfg: cfg, role: role, clients: make(map[scope]*rgt.Client), creds: make(map[string]aws.CredentialsProvider)}
}

// Requests returns the GetResources calls made so far.
func (a *API) Requests() int64 { return a.requests.Load() }

// client returns the Tagging API client of account ("" for the own
// account) in region.
func (a *API) client(ctx context.Context, account, region string) (*rgt.Client, error) {
	if account != "" {
		if !isAccountID(account) {
			return nil, fmt.Errorf("%q: %w", account, ErrNotAnAccount)
		}
		self, err := a.selfAccount(ctx, region)
		if err != nil {
			return nil, err
		}
		if account == self {
			account = ""
		} else if a.role == "" {
			return nil, ErrNoRole
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := scope{account: account, region: region}
	if c, ok := a.clients[key]; ok {
		return c, nil
	}
	c := rgt.NewFromConfig(a.cfg, func(o *rgt.Options) {
		o.Region = region
		// The SDK prefers Smithy RPC v2 CBOR since v1.42.0; the API
		// also speaks AWS JSON 1.1, which moto_server and other
		// stand-ins (AWS_ENDPOINT_URL) serve too.
		o.Protocol = awsjson.New11(schemas.ResourceGroupsTaggingAPI_20170126)
		if account != "" {
			o.Credentials = a.roleCredentials(account, region)
		}
	})
	a.clients[key] = c
	return c, nil
}

// roleCredentials returns the credentials of the role assumed in account,
// shared by its regions and renewed before they expire. a.mu is held.
func (a *API) roleCredentials(account, region string) aws.CredentialsProvider {
	if p, ok := a.creds[account]; ok {
		return p
	}
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(a.sts(region), RoleARN(a.role, account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "cwstream-tags"
	}), func(o *aws.CredentialsCacheOptions) {
		// Renewed a minute before they expire, so that a lookup's pages
		// never run into ExpiredToken (the default window is none).
		o.ExpiryWindow = time.Minute
	})
	a.creds[account] = p
	return p
}

// selfAccount returns the account of the API's own credentials, asking
// STS (GetCallerIdentity, which needs no permission) the first time.
func (a *API) selfAccount(ctx context.Context, region string) (string, error) {
	a.mu.Lock()
	self := a.self
	a.mu.Unlock()
	if self != "" {
		return self, nil
	}
	c := a.sts(region)
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("sts:GetCallerIdentity in %s (to tell the function's own account from others): %w", c.Options().Region, err)
	}
	a.mu.Lock()
	a.self = aws.ToString(out.Account)
	a.mu.Unlock()
	return aws.ToString(out.Account), nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sts returns an STS client in the API's own region (the function's: the
// STS endpoint its network reaches), or in region when cfg names none.
func (a *API) sts(region string) *sts.Client {
	return sts.NewFromConfig(a.cfg, func(o *sts.Options) {
		if o.Region == "" {
			o.Region = region
		}
	})
}

// RoleARN returns the role of template to assume in account.
func RoleARN(template, account string) string {
	return strings.ReplaceAll(template, AccountPlaceholder, account)
}

// Resources returns every resource of resourceTypes in account and region
// with its tags.
func (a *API) Resources(ctx context.Context, account, region string, resourceTypes []string) ([]Resource, error) {
	where := scope{account: account, region: region}
	c, err := a.client(ctx, account, region)
	if err != nil {
		return nil, fmt.Errorf("tag:GetResources in %s: %w", where, err)
	}
	p := rgt.NewGetResourcesPaginator(c, &rgt.GetResourcesInput{
		ResourceTypeFilters: resourceTypes,
		ResourcesPerPage:    aws.Int32(PageSize),
	})
	var out []Resource
	for page := 1; p.HasMorePages(); page++ {
		a.requests.Add(1)
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("tag:GetResources in %s, page %d: %w", where, page, err)
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
