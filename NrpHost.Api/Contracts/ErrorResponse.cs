using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>
/// The NRP error body, <c>{"message", "type", "data"}</c>, sent with every error status (also for unknown routes,
/// wrong methods and malformed bodies) as <c>application/json</c>.
/// </summary>
/// <param name="Message">What went wrong, for a person.</param>
/// <param name="Type">The NRP error kind: <c>Client error</c>, <c>State Transition error</c>, <c>Server Error</c> or <c>General error</c>.</param>
/// <param name="Data">Details (the cause's text), or null.</param>
public sealed record ErrorResponse(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("data")] string? Data = null)
{
    internal const string ClientErrorType = "Client error";
    internal const string StateTransitionErrorType = "State Transition error";
    internal const string ServerErrorType = "Server Error";
    internal const string GeneralErrorType = "General error";

    internal static ErrorResponse Client(string message, string? data = null) => new(message, ClientErrorType, data);

    internal static ErrorResponse StateTransition(string message) => new(message, StateTransitionErrorType);

    internal static ErrorResponse NotGiven(string field) => Client($"{field} not given.");

    internal static ErrorResponse SimulationNotFound() => Client("The simulation with the given ID was not found");

    internal static ErrorResponse NoProfile(int id) => Client(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Simulation {id} has no step-latency profile: create it with \"profile\": true (or set NrpHost:Simulation:Profile). A profile is kept until the simulation is stopped; its time logs are then in the log archive."));

    internal static ErrorResponse AnotherSimulationRunning(string? message = null) =>
        Client(message ?? "Another simulation is already running on the server");

    internal static ErrorResponse CannotView() => Client(
        "Insufficient permissions to see the simulation changes. You can only see the simulations you own or those for which the experiment has been shared with you");

    internal static ErrorResponse CannotModify() =>
        Client("Insufficient permissions to apply changes. Operation only allowed by simulation owner");

    internal static ErrorResponse NotIdentified() =>
        Client("Could not verify auth token: a valid 'Authorization: Bearer <token>' header is required");

    internal static ErrorResponse DirectoryUnavailable(string reason) =>
        new("Could not verify auth token: the NRP Storage Proxy is unavailable", ServerErrorType, reason);

    internal static ErrorResponse Finalized() =>
        StateTransition("The state transition is invalid (The simulation requested is finalized)");

    internal static ErrorResponse InvalidTransition(string current, string requested) =>
        StateTransition($"The state transition is invalid ('{current}' -> '{requested}')");

    internal static ErrorResponse InvalidTransition(string detail) => StateTransition($"The state transition is invalid ({detail})");

    internal static ErrorResponse InvalidState(string value) => StateTransition($"Invalid state requested: ({value})");

    internal static ErrorResponse StartFailed(string cause) =>
        new($"Error starting the simulation. (\"{cause}\") An exception has occurred", ServerErrorType, cause);

    internal static ErrorResponse TooManyEventStreams(int limit) => new(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Too many event streams are open ({limit}, NrpHost:Api:MaxEventStreams): close one, or follow the simulation over MQTT"), GeneralErrorType);

    internal static ErrorResponse TooManyEventStreamsForCaller(int limit) => new(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"You have too many event streams open ({limit}, NrpHost:Api:MaxEventStreamsPerCaller): close one, or follow the simulation over MQTT"), GeneralErrorType);

    internal static ErrorResponse Internal(string what) => new($"Internal server error: {what}", GeneralErrorType);
}
