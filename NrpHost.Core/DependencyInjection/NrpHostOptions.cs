using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using NrpHost.Hosting;
using NrpHost.Messaging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Simulation;
using NrpHost.Storage;

namespace NrpHost.DependencyInjection;

/// <summary>
/// Every NrpHost setting in one object, for <c>services.AddNrpHost(options =&gt; …)</c>. Each property is one
/// configuration section's options, with the same defaults as when they are bound from configuration
/// (<c>NrpHost:Python</c>, <c>NrpHost:Simulation</c>, <c>NrpHost:NrpCore</c>, <c>NrpHost:Storage</c>,
/// <c>NrpHost:Mqtt</c>, <c>NrpHost:HostId</c>).
/// </summary>
public sealed class NrpHostOptions
{
    /// <summary>Which CPython to embed (<c>NrpHost:Python</c>).</summary>
    public PythonOptions Python { get; } = new();

    /// <summary>Simulation limits, deadlines and directories (<c>NrpHost:Simulation</c>).</summary>
    public SimulationOptions Simulation { get; } = new();

    /// <summary>The nrp-core client: the embedded runtime or a real installation (<c>NrpHost:NrpCore</c>).</summary>
    public NrpCoreOptions NrpCore { get; } = new();

    /// <summary>The local experiments folder (<c>NrpHost:Storage:LocalRoot</c>).</summary>
    public LocalStorageOptions LocalStorage { get; } = new();

    /// <summary>
    /// The NRP Storage Proxy (<c>NrpHost:Storage</c>). Setting <see cref="ProxyStorageOptions.ProxyUrl"/> uses it
    /// instead of the local folder.
    /// </summary>
    public ProxyStorageOptions ProxyStorage { get; } = new();

    /// <summary>The MQTT broker and topic prefix (<c>NrpHost:Mqtt</c>); used once <c>AddMqttStatus()</c> is called.</summary>
    public MqttOptions Mqtt { get; } = new();

    /// <summary>This host's id (<c>NrpHost:HostId</c>); see <see cref="HostIdentityOptions.HostId"/>.</summary>
    public string? HostId { get; set; }

    /// <summary>Copies every public setting of <paramref name="source"/> onto <paramref name="target"/> (lists by content).</summary>
    internal static void Copy<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T source, T target)
        where T : class
    {
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanRead)
            {
                continue;
            }

            if (property.CanWrite)
            {
                property.SetValue(target, property.GetValue(source));
            }
            else if (property.GetValue(source) is IList<string> from && property.GetValue(target) is IList<string> to && !ReferenceEquals(from, to))
            {
                to.Clear();
                foreach (var item in from)
                {
                    to.Add(item);
                }
            }
        }
    }
}
