namespace Stevedore.Application;

public enum AppErrorKind
{
    Invalid,
    NotFound,
    Conflict,
    TooLarge,
    /// <summary>Missing or wrong credentials of the call itself (a webhook's token or signature).</summary>
    Unauthorized,
    /// <summary>A limit that frees up with time (a full queue, too many log followers): try again after <see cref="AppError.RetryAfter"/>.</summary>
    Busy,
}

/// <summary>A refusal the caller can act on; HTTP maps it to problem+json, gRPC to a status code.</summary>
public sealed record AppError(AppErrorKind Kind, string Detail, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    /// <summary>For <see cref="AppErrorKind.Busy"/>: when trying again makes sense.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static AppError Busy(string detail, TimeSpan retryAfter) => new(AppErrorKind.Busy, detail) { RetryAfter = retryAfter };

    public static AppError NotFound(string detail) => new(AppErrorKind.NotFound, detail);
    public static AppError Conflict(string detail) => new(AppErrorKind.Conflict, detail);
    public static AppError TooLarge(string detail) => new(AppErrorKind.TooLarge, detail);
    public static AppError Unauthorized(string detail) => new(AppErrorKind.Unauthorized, detail);

    public static AppError Invalid(FieldErrors errors) =>
        new(AppErrorKind.Invalid, errors.Summary(), errors.ToDictionary());
}

public readonly struct AppResult<T>
{
    private AppResult(T? value, AppError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }
    public AppError? Error { get; }
    public bool Ok => Error is null;

    public static implicit operator AppResult<T>(T value) => new(value, null);
    public static implicit operator AppResult<T>(AppError error) => new(default, error);
}

/// <summary>Per-field validation messages, keyed by the API's field name (camelCase, with <c>[i]</c> for items).</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    public void AddAll(string prefix, FieldErrors other)
    {
        foreach (var (field, messages) in other._errors)
        {
            foreach (var message in messages)
            {
                Add(prefix + field, message);
            }
        }
    }

    public bool Has(string field) => _errors.ContainsKey(field);

    public IReadOnlyDictionary<string, string[]> ToDictionary() => _errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    public string Summary()
    {
        var first = _errors.First();
        var more = _errors.Count > 1 ? $" (and {_errors.Count - 1} more field{(_errors.Count > 2 ? "s" : "")}, see errors)" : "";
        return $"{first.Key}: {first.Value[0]}{more}";
    }
}
