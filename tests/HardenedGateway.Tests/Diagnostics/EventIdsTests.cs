using System.Reflection;
using HardenedGateway.Diagnostics;

namespace HardenedGateway.Tests.Diagnostics;

/// <summary>
/// The one registry of log event ids (<see cref="EventIds"/>): every id names one event. Two merges
/// once gave two features the same id, which makes their log lines indistinguishable by id.
/// </summary>
[TestFixture]
public sealed class EventIdsTests
{
    [Test]
    public void EventIds_EveryConstant_HasAnIdNoOtherConstantHas()
    {
        var constants = typeof(EventIds).GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(field => field.IsLiteral && field.FieldType == typeof(int))
            .ToArray();
        Assert.That(constants, Is.Not.Empty, "EventIds declares no int constants; the test would prove nothing.");

        var firstById = new Dictionary<int, string>();
        var clashes = new List<string>();
        foreach (var field in constants)
        {
            var id = (int)field.GetRawConstantValue()!;
            if (firstById.TryGetValue(id, out var first))
            {
                clashes.Add($"{first} and {field.Name} both use event id {id}");
            }
            else
            {
                firstById.Add(id, field.Name);
            }
        }

        Assert.That(clashes, Is.Empty, "Event ids must be unique: " + string.Join("; ", clashes));
    }
}
