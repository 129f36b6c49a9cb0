using System.Text;
using System.Text.Json;
using Stevedore.Application;

namespace Stevedore.Host.Apis;

/// <summary>
/// Reads request bodies into drafts by hand, so that every wrong type, unknown field or malformed body gets a
/// message naming the field, never a 500.
/// </summary>
public static class JsonInput
{
    private static readonly string[] s_jobFields =
        ["image", "command", "env", "timeoutSeconds", "memoryMb", "cpus", "maxConcurrency", "retries", "retryDelaySeconds", "retryBackoff", "network", "priority", "retentionDays", "subscriptions", "maxQueued",
         "capabilities", "user", "readOnlyRootFilesystem", "hot"];

    private static readonly string[] s_hotFields = ["maxPerNode", "idleSeconds"];

    // Fields a GET returns; accepted and ignored on PUT so that a fetched job can be edited and sent back.
    private static readonly string[] s_jobReadOnlyFields = ["name", "version", "createdAt", "updatedAt", "paused"];

    private static readonly string[] s_taskFields = ["payload", "priority", "delaySeconds", "timeoutSeconds", "idempotencyKey", "labels"];

    public static JobDraft ReadJob(JsonElement body, FieldErrors errors, string pathName)
    {
        string? image = null;
        IReadOnlyList<string>? command = null;
        IReadOnlyDictionary<string, string>? env = null;
        long? timeout = null, memory = null, maxConcurrency = null, retries = null, retryDelay = null, priority = null, maxQueued = null, retentionDays = null;
        double? cpus = null, backoff = null;
        string? network = null, user = null;
        IReadOnlyList<string>? subscriptions = null, capabilities = null;
        bool? readOnlyRoot = null;
        HotDraft? hot = null;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            switch (property.Name)
            {
                case "image": image = String(value, "image", errors); break;
                case "command": command = StringArray(value, "command", errors); break;
                case "env": env = StringMap(value, "env", errors); break;
                case "timeoutSeconds": timeout = Integer(value, "timeoutSeconds", errors); break;
                case "memoryMb": memory = Integer(value, "memoryMb", errors); break;
                case "cpus": cpus = Number(value, "cpus", errors); break;
                case "maxConcurrency": maxConcurrency = Integer(value, "maxConcurrency", errors); break;
                case "retries": retries = Integer(value, "retries", errors); break;
                case "retryDelaySeconds": retryDelay = Integer(value, "retryDelaySeconds", errors); break;
                case "retryBackoff": backoff = Number(value, "retryBackoff", errors); break;
                case "network": network = String(value, "network", errors); break;
                case "priority": priority = Integer(value, "priority", errors); break;
                case "retentionDays": retentionDays = Integer(value, "retentionDays", errors); break;
                case "subscriptions": subscriptions = StringArray(value, "subscriptions", errors); break;
                case "maxQueued": maxQueued = Integer(value, "maxQueued", errors); break;
                case "capabilities": capabilities = StringArray(value, "capabilities", errors); break;
                case "user": user = String(value, "user", errors); break;
                case "readOnlyRootFilesystem": readOnlyRoot = Boolean(value, "readOnlyRootFilesystem", errors); break;
                case "hot": hot = Hot(value, errors); break;
                case "name":
                    if (value.ValueKind != JsonValueKind.String || value.GetString() != pathName)
                    {
                        errors.Add("name", $"must match the name in the URL ('{pathName}') or be left out");
                    }

                    break;
                default:
                    if (!s_jobReadOnlyFields.Contains(property.Name))
                    {
                        Unknown(property.Name, s_jobFields, errors);
                    }

                    break;
            }
        }

        return new JobDraft
        {
            Image = image, Command = command, Env = env, TimeoutSeconds = timeout, MemoryMb = memory, Cpus = cpus,
            MaxConcurrency = maxConcurrency, Retries = retries, RetryDelaySeconds = retryDelay, RetryBackoff = backoff,
            Network = network, Priority = priority, RetentionDays = retentionDays, Subscriptions = subscriptions, MaxQueued = maxQueued,
            Capabilities = capabilities, User = user, ReadOnlyRootFilesystem = readOnlyRoot, Hot = hot,
        };
    }

    private static HotDraft? Hot(JsonElement value, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("hot", $"must be an object such as {{\"maxPerNode\": 1, \"idleSeconds\": 60}}, not {Kind(value.ValueKind)}");
            return null;
        }

        var hot = new HotDraft();
        foreach (var property in value.EnumerateObject())
        {
            var field = "hot." + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            hot = property.Name switch
            {
                "maxPerNode" => hot with { MaxPerNode = Integer(property.Value, field, errors) },
                "idleSeconds" => hot with { IdleSeconds = Integer(property.Value, field, errors) },
                _ => Unknown(field, s_hotFields, errors, hot),
            };
        }

        return hot;
    }

    public static TaskDraft ReadTask(JsonElement body, FieldErrors errors, string prefix = "")
    {
        var draft = new TaskDraft();
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.TrimEnd('.'), $"must be a JSON object, not {Kind(body.ValueKind)}");
            return draft;
        }

        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            var field = prefix + property.Name;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            draft = property.Name switch
            {
                "payload" => draft with { Payload = value.ValueKind == JsonValueKind.String ? Encoding.UTF8.GetBytes(value.GetString()!) : Encoding.UTF8.GetBytes(value.GetRawText()) },
                "priority" => draft with { Priority = Integer(value, field, errors) },
                "delaySeconds" => draft with { DelaySeconds = Integer(value, field, errors) },
                "timeoutSeconds" => draft with { TimeoutSeconds = Integer(value, field, errors) },
                "idempotencyKey" => draft with { IdempotencyKey = String(value, field, errors) },
                "labels" => draft with { Labels = StringMap(value, field, errors) },
                _ => Unknown(field, s_taskFields, errors, draft),
            };
        }

        return draft;
    }

    private static T Unknown<T>(string field, string[] known, FieldErrors errors, T draft)
    {
        Unknown(field, known, errors);
        return draft;
    }

    internal static void Unknown(string field, string[] known, FieldErrors errors) =>
        errors.Add(field, $"is not a known field; expected one of: {string.Join(", ", known)}");

    internal static string? String(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        errors.Add(field, $"must be a string, not {Kind(value.ValueKind)}");
        return null;
    }

    private static bool? Boolean(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        errors.Add(field, $"must be true or false, not {Kind(value.ValueKind)}");
        return null;
    }

    internal static long? Integer(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var whole))
            {
                return whole;
            }

            if (value.TryGetDouble(out var real) && Math.Abs(real) < 1e15 && real == Math.Floor(real))
            {
                return (long)real;
            }
        }

        errors.Add(field, value.ValueKind == JsonValueKind.Number
            ? $"must be a whole number, not {value.GetRawText()}"
            : $"must be a whole number, not {Kind(value.ValueKind)}");
        return null;
    }

    private static double? Number(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number))
        {
            return number;
        }

        errors.Add(field, $"must be a number, not {Kind(value.ValueKind)}");
        return null;
    }

    internal static IReadOnlyList<string>? StringArray(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(field, $"must be an array of strings, e.g. [\"sh\", \"-c\", \"echo hi\"], not {Kind(value.ValueKind)}");
            return null;
        }

        var items = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                items.Add(item.GetString()!);
            }
            else
            {
                errors.Add($"{field}[{i}]", $"must be a string, not {Kind(item.ValueKind)}");
            }

            i++;
        }

        return items;
    }

    internal static IReadOnlyDictionary<string, string>? StringMap(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, $"must be an object of strings, e.g. {{\"KEY\": \"value\"}}, not {Kind(value.ValueKind)}");
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind == JsonValueKind.String)
            {
                map[entry.Name] = entry.Value.GetString()!;
            }
            else
            {
                errors.Add($"{field}.{entry.Name}", $"must be a string (quote numbers and booleans), not {Kind(entry.Value.ValueKind)}");
            }
        }

        return map;
    }

    internal static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    internal static IResult TooLarge(long maxBytes) => Problems.Problem(
        StatusCodes.Status413PayloadTooLarge, "Payload too large.", $"The request body is larger than {maxBytes} bytes, the most this call accepts.");
}
