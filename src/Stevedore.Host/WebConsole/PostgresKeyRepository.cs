using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Stevedore.Host.WebConsole;

/// <summary>
/// ASP.NET Core data protection keys in PostgreSQL (<c>stevedore_protection_keys</c>), so that every silo of a
/// cluster protects and reads the console's antiforgery tokens with the same keys: a form one silo served is
/// accepted by whichever silo the load balancer sends its post to.
/// </summary>
public sealed class PostgresKeyRepository(NpgsqlDataSource db) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = db.CreateCommand("SELECT xml FROM stevedore_protection_keys ORDER BY created_at");
        using var reader = command.ExecuteReader();
        var keys = new List<XElement>();
        while (reader.Read())
        {
            keys.Add(XElement.Parse(reader.GetString(0)));
        }

        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = db.CreateCommand("INSERT INTO stevedore_protection_keys (name, xml) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING");
        command.Parameters.AddWithValue(friendlyName);
        command.Parameters.AddWithValue(element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
