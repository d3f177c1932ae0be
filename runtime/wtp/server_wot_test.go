package wtp

import "github.com/wotgen/wotgen/runtime/wot"

// The WTP tests drive the core's exposed side (wot.Thing, wot.Server) through this
// binding; these short names keep them readable.
type (
	Thing         = wot.Thing
	ThingOption   = wot.ThingOption
	Server        = wot.Server
	ServerOption  = wot.ServerOption
	Error         = wot.Error
	ActionStatus  = wot.ActionStatus
	Authenticator = wot.Authenticator
)

var (
	NewThing               = wot.NewThing
	NewServer              = wot.NewServer
	WithAuthenticator      = wot.WithAuthenticator
	WithAuthorizer         = wot.WithAuthorizer
	WithExternalURL        = wot.WithExternalURL
	WithOriginPatterns     = wot.WithOriginPatterns
	WithHistory            = wot.WithHistory
	WithActionRetention    = wot.WithActionRetention
	WithSharedActions      = wot.WithSharedActions
	WithSynchronousDefault = wot.WithSynchronousDefault
	WithTDPath             = wot.WithTDPath
	NewError               = wot.NewError
	BadRequest             = wot.BadRequest
	Forbidden              = wot.Forbidden
	NotFound               = wot.NotFound
	Internal               = wot.Internal
	Unavailable            = wot.Unavailable
	StatusOf               = wot.StatusOf
	IsNotFound             = wot.IsNotFound
	IsBadRequest           = wot.IsBadRequest
	BearerAuth             = wot.BearerAuth
	BearerQueryAuth        = wot.BearerQueryAuth
	BasicAuth              = wot.BasicAuth
	APIKeyAuth             = wot.APIKeyAuth
	AnyAuth                = wot.AnyAuth
	AuthFromTD             = wot.AuthFromTD
)

const (
	ActionPending   = wot.ActionPending
	ActionRunning   = wot.ActionRunning
	ActionCompleted = wot.ActionCompleted
	ActionFailed    = wot.ActionFailed
)
