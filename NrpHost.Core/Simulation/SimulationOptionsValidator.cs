using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace NrpHost.Simulation;

/// <summary>Validates the nested parts of <see cref="SimulationOptions"/> (limits, worker), which data annotations alone do not reach.</summary>
internal sealed class SimulationOptionsValidator : IValidateOptions<SimulationOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (part, value) in new (string, object?)[] { ("Limits", options.Limits), ("Worker", options.Worker) })
        {
            if (value is null)
            {
                failures.Add($"{SimulationOptions.SectionName}:{part} must not be null.");
                continue;
            }

            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
            {
                failures.AddRange(results.Select(r => $"{SimulationOptions.SectionName}:{part}: {r.ErrorMessage}"));
            }
        }

        if (!Enum.IsDefined(options.Isolation))
        {
            failures.Add($"{SimulationOptions.SectionName}:Isolation must be InProcess, Process or Sandbox.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
