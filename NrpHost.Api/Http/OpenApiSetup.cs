using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using NrpHost.Api.Contracts;
using NrpHost.Api.Endpoints;
using NrpHost.Api.Security;
using NrpHost.Simulation;

namespace NrpHost.Api.Http;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>): the generated one, completed so that it says what the wire does
/// and passes redocly's recommended rules: the bearer token, tag and license descriptions, the server URL without a
/// trailing slash, the document version = <c>/version</c>, and the NRP wire types (integer ids, state names, dates,
/// keys that are always sent).
/// </summary>
internal static class OpenApiSetup
{
    public const string BearerScheme = "bearer";

    public const string OpenIdConnectScheme = "oidc";

    private static readonly string[] States = [.. Enum.GetValues<SimulationState>().Select(s => s.ToWireName())];

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Simulation"] = "The NRP backend's simulation resource: create, list, read and change the state of simulations.",
        ["Experiments"] = "The experiments the caller can launch (not in the NRP contract).",
        ["Version"] = "Which NrpHost answered, and its version.",
        ["Health"] = "Whether the host can run simulations, and the state of its parts.",
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, context, _) =>
        {
            Describe(document);
            DescribeSecurity(document, context.ApplicationServices.GetRequiredService<ApiAccess>());
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            Complete(schema, context.JsonTypeInfo.Type);
            return Task.CompletedTask;
        });
    }

    private static void Describe(OpenApiDocument document)
    {
        document.Info.Title = "NrpHost: NRP backend REST API";
        document.Info.Description = "The NRP v4 backend contract, served by NrpHost. Every error body is {\"message\",\"type\",\"data\"}.";
        document.Info.Version = VersionEndpoints.Version;
        document.Info.License = new OpenApiLicense { Name = "Apache-2.0", Identifier = "Apache-2.0" };

        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description))
            {
                tag.Description = description;
            }
        }
    }

    /// <summary>
    /// The schemes in use (<see cref="ApiAccess"/>): the Storage Proxy's token, or none, optional; the API token or an
    /// OpenID Connect token, required on every operation but <c>/health</c> and <c>/version</c>.
    /// </summary>
    private static void DescribeSecurity(OpenApiDocument document, ApiAccess access)
    {
        const string QueryNote = " The events stream and WebSocket upgrades may carry it as `?access_token=` instead (browsers cannot give them a header).";
        var mode = access.Mode;
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = mode == AccessMode.OpenIdConnect ? "JWT" : null,
            Description = mode switch
            {
                AccessMode.Token => "The API token (`Authorization: Bearer <token>`): NrpHost:Api:Token, or the one generated and printed at start." + QueryNote,
                AccessMode.OpenIdConnect => "An access token of the OpenID Connect issuer (NrpHost:Auth:Authority), `Authorization: Bearer <JWT>`; "
                    + "its preferred_username (else sub) is the caller." + QueryNote,
                _ => "The NRP Storage Proxy token of the caller (`Authorization: Bearer <token>`), needed when the host uses the Storage Proxy; "
                    + "ignored with local storage, where every caller is `default-owner`.",
            },
        };
        var bearer = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] };
        if (mode == AccessMode.OpenIdConnect && Uri.TryCreate(access.Authority, UriKind.Absolute, out var authority))
        {
            document.Components.SecuritySchemes[OpenIdConnectScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.OpenIdConnect,
                OpenIdConnectUrl = new Uri(authority.AbsoluteUri.TrimEnd('/') + "/.well-known/openid-configuration"),
                Description = "The identity provider that issues the access tokens.",
            };
        }

        if (mode is AccessMode.Token or AccessMode.OpenIdConnect)
        {
            document.Security = [bearer];
            foreach (var (path, item) in document.Paths ?? [])
            {
                if (path is "/health" or "/version")
                {
                    foreach (var operation in item.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                    {
                        operation.Security = []; // open to all
                    }
                }
            }
        }
        else
        {
            // With local storage nobody needs a token (every caller is default-owner): the empty requirement.
            document.Security = [bearer, new OpenApiSecurityRequirement()];
        }
    }

    private static void Complete(OpenApiSchema schema, Type type)
    {
        if (type == typeof(SimulationResponse))
        {
            Enumerate(schema, "state", States);
            Set(schema, "creationDate", s => s.Format = "date-time");
        }
        else if (type == typeof(StateResponse))
        {
            Enumerate(schema, "state", States);
        }
        else if (type == typeof(StateRequest))
        {
            Enumerate(schema, "state", [.. States.Where(s => s != SimulationState.Created.ToWireName())]);
        }
        else if (type == typeof(ErrorResponse))
        {
            // Always sent, null when there is nothing more to say.
            schema.Required ??= new HashSet<string>(StringComparer.Ordinal);
            schema.Required.Add("data");
        }
    }

    private static void Enumerate(OpenApiSchema schema, string property, IEnumerable<string> values) =>
        Set(schema, property, s => s.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private static void Set(OpenApiSchema schema, string property, Action<OpenApiSchema> change)
    {
        if (schema.Properties?.TryGetValue(property, out var value) == true && value is OpenApiSchema target)
        {
            change(target);
        }
    }
}
