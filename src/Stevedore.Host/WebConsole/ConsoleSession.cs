using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stevedore.Host.WebConsole;

/// <summary>
/// The console's login: the admin token, once, for a session cookie. The cookie holds when it was issued and a MAC of
/// that under a key derived from the admin token, so every silo that knows the token accepts it without shared
/// session state, and changing the token ends every session. Pure, so its cases are tested directly.
/// </summary>
public sealed class ConsoleSession
{
    public const string CookieName = "stevedore_console";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private const string Version = "v1";
    private readonly byte[] _token;
    private readonly byte[] _key;

    public ConsoleSession(string adminToken)
    {
        _token = Encoding.UTF8.GetBytes(adminToken);
        _key = HMACSHA256.HashData(_token, "stevedore console session"u8);
    }

    /// <summary>True when <paramref name="given"/> is the admin token (compared in constant time).</summary>
    public bool IsToken(string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given.Trim()), _token);

    /// <summary>A cookie value for a session starting now.</summary>
    public string Issue(DateTimeOffset now)
    {
        var issued = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"{Version}.{issued}.{Mac(issued)}";
    }

    /// <summary>True for a cookie this token issued, not in the future and not older than <see cref="Lifetime"/>.</summary>
    public bool IsValid(string? cookie, DateTimeOffset now)
    {
        var parts = cookie?.Split('.');
        if (parts is not [Version, var issuedText, var mac]
            || !long.TryParse(issuedText, NumberStyles.None, CultureInfo.InvariantCulture, out var issuedSeconds)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(mac), Encoding.ASCII.GetBytes(Mac(issuedText))))
        {
            return false;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(issuedSeconds);
        return age >= TimeSpan.FromMinutes(-1) && age < Lifetime;
    }

    private string Mac(string issued) =>
        Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes($"{Version}.{issued}"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
