// Package api implements the App Runner operations on OpenRunner's domain:
// it turns wire shapes (package wire) into calls on the root package's
// services and back, and owns the one table that maps application error
// codes to App Runner exceptions. It speaks no HTTP; package awsjson does.
package api

import (
	"errors"
	"net/http"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/awsjson"
	"github.com/openrunner/openrunner/wire"
)

// Server implements wire.AppRunner. Operations it does not implement yet
// answer NotImplementedException (from the embedded wire.Unimplemented).
type Server struct {
	wire.Unimplemented

	Connections openrunner.ConnectionService
	Tags        openrunner.TagService
	Pages       *PageTokens
	// AutoScaling stores auto scaling configurations; when nil, their
	// operations answer NotImplementedException.
	AutoScaling openrunner.AutoScalingConfigurationService
	// Observability stores observability configurations; when nil, their
	// operations answer NotImplementedException.
	Observability openrunner.ObservabilityConfigurationService
	// Services and Deployer run services; when Services is nil the service
	// operations answer NotImplementedException.
	Services openrunner.ServiceService
	Deployer Deployer
	// BaseDomain ends every ServiceUrl: <prefix>.<region>.<BaseDomain>.
	BaseDomain string
	// ProviderURLs are the web URLs of the providers by ProviderType
	// (https://github.com, https://bitbucket.org, or an enterprise
	// server's): a source-code service's repository must be on its
	// connection's provider, since the connection's token is sent there.
	ProviderURLs map[string]string
	// VPC stores VPC connectors and ingress connections; when nil, their
	// operations answer NotImplementedException. IngressChanged, if set,
	// is called after an ingress connection was created, updated or
	// deleted (the ingress controller's poke).
	VPC            openrunner.VPCService
	IngressChanged func()
	// Domains runs the custom-domain operations; when nil they answer
	// NotImplementedException.
	Domains *Domains
	// RuntimeError, when set, says why this server cannot run services;
	// CreateService answers it as InvalidRequestException.
	RuntimeError string
}

var _ wire.AppRunner = (*Server)(nil)

// exceptions maps application error codes to App Runner exceptions and their
// HTTP statuses (apprunner-api.md §1.1: ResourceNotFound is 400, quota 402).
var exceptions = map[string]awsjson.Error{
	openrunner.EINVALID:        {Type: "InvalidRequestException", Status: http.StatusBadRequest},
	openrunner.ECONFLICT:       {Type: "InvalidRequestException", Status: http.StatusBadRequest},
	openrunner.EINVALIDSTATE:   {Type: "InvalidStateException", Status: http.StatusBadRequest},
	openrunner.ENOTFOUND:       {Type: "ResourceNotFoundException", Status: http.StatusBadRequest},
	openrunner.EQUOTA:          {Type: "ServiceQuotaExceededException", Status: http.StatusPaymentRequired},
	openrunner.ENOTIMPLEMENTED: {Type: "NotImplementedException", Status: http.StatusNotImplemented},
	openrunner.EINTERNAL:       {Type: "InternalServiceErrorException", Status: http.StatusInternalServerError},
}

// MapError turns any error from wire.Dispatch into its wire form. Internal
// errors keep their cause out of the message.
func MapError(err error) *awsjson.Error {
	var de *wire.DecodeError
	switch {
	case errors.As(err, &de):
		return &awsjson.Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: de.Message}
	case errors.Is(err, wire.ErrUnknownOperation):
		return &awsjson.Error{Type: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: "The operation is not an App Runner operation."}
	}
	e := exceptions[openrunner.ErrorCode(err)]
	e.Message = openrunner.ErrorMessage(err)
	return &e
}

// maxResults returns the page size a request asked for; 0 means all.
func maxResults(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}
