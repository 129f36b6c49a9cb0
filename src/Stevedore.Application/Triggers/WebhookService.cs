using System.Security.Cryptography;
using System.Text;
using Stevedore.Storage;

namespace Stevedore.Application.Triggers;

/// <summary>
/// Webhooks of jobs, and their calls. A call is authenticated by the hook's secret (the token itself, or an HMAC-SHA256
/// signature of the body made with it) and creates one task whose payload is the raw body.
/// </summary>
/// <remarks>
/// The secret is shown once, when the hook is made. The store keeps only its SHA-256: secrets are 70 characters,
/// longer than HMAC-SHA256's 64-byte block, and RFC 2104 keys such an HMAC with the hash of the key, so signatures are
/// checked with the stored hash alone, and a token by hashing it. Whoever reads the database could therefore sign
/// calls (not send the token): keep it as private as the admin token. No secret can ever be read back.
/// </remarks>
public sealed class WebhookService(IGrainFactory grains, IWebhookStore store, TaskService tasks, TimeProvider time)
{
    public const string TokenHeader = "X-Stevedore-Token";
    public const string SignatureHeader = "X-Stevedore-Signature";
    public const string WebhookLabel = "webhook";
    private const string SecretPrefix = "whsec_";

    public async Task<AppResult<CreatedWebhook>> CreateAsync(string job, WebhookDraft draft)
    {
        if (Validation.CheckJobName(job) is not null || await grains.Job(job).GetAsync() is null)
        {
            return JobService.NotFound(job);
        }

        var errors = new FieldErrors();
        TriggerValidation.Webhook(draft, errors);
        if (errors.Any)
        {
            return AppError.Invalid(errors);
        }

        var now = time.GetUtcNow();
        var secret = SecretPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var hook = new WebhookRecord
        {
            Id = TaskIds.New(now),
            Job = job,
            SecretHash = HashSecret(secret),
            Headers = draft.Headers?.Distinct(StringComparer.OrdinalIgnoreCase).ToArray() ?? [],
            CreatedAt = now,
        };
        await store.InsertAsync(hook);
        return new CreatedWebhook(hook, secret);
    }

    public async Task<AppResult<IReadOnlyList<WebhookRecord>>> ListAsync(string job, CancellationToken cancellationToken = default)
    {
        if (Validation.CheckJobName(job) is not null || await grains.Job(job).GetAsync() is null)
        {
            return JobService.NotFound(job);
        }

        return (await store.ListByJobAsync(job, cancellationToken)).ToList();
    }

    public async Task<AppResult<bool>> DeleteAsync(string job, string id)
    {
        if (!TaskIds.IsValid(id) || await store.GetAsync(id) is not { } hook || hook.Job != job)
        {
            return NotFound(id, job);
        }

        await store.DeleteAsync(id);
        return true;
    }

    /// <summary>Deletes every webhook of a job (the job is being deleted).</summary>
    public async Task DeleteForJobAsync(string job, CancellationToken cancellationToken = default)
    {
        foreach (var hook in await store.ListByJobAsync(job, cancellationToken))
        {
            await store.DeleteAsync(hook.Id, cancellationToken);
        }
    }

    /// <summary>A call of a webhook: checks its secret, then enqueues the body as a task of the hook's job.</summary>
    public async Task<AppResult<EnqueueResult>> DeliverAsync(WebhookDelivery delivery)
    {
        if (!TaskIds.IsValid(delivery.HookId) || await store.GetAsync(delivery.HookId) is not { } hook)
        {
            return AppError.NotFound($"There is no webhook '{Validation.Shorten(delivery.HookId)}'.");
        }

        if (Authenticate(hook, delivery) is { } refused)
        {
            return AppError.Unauthorized(refused);
        }

        var result = await tasks.EnqueueAsync(hook.Job, new TaskDraft
        {
            Payload = delivery.Body,
            IdempotencyKey = delivery.DeliveryId is { Length: > 0 } deliveryId ? DeliveryKey(hook.Id, deliveryId) : null,
            Labels = new Dictionary<string, string> { [WebhookLabel] = hook.Id },
            Environment = Environment(hook, delivery),
        });
        if (result.Error is { Kind: AppErrorKind.NotFound })
        {
            // The job is gone (deleted while this hook's own deletion had not happened yet): the hook goes too.
            await store.DeleteAsync(hook.Id);
            return AppError.NotFound($"The job of webhook '{hook.Id}' no longer exists; the webhook was removed.");
        }

        return result;
    }

    /// <summary>The stored form of a secret (see the remarks on <see cref="WebhookService"/>).</summary>
    public static byte[] HashSecret(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Null when the call carries the hook's token or a valid signature of its body; otherwise why not.</summary>
    public static string? Authenticate(WebhookRecord hook, WebhookDelivery delivery)
    {
        if (delivery.Token is { } token)
        {
            return CryptographicOperations.FixedTimeEquals(HashSecret(token.Trim()), hook.SecretHash)
                ? null
                : $"The {TokenHeader} header does not hold this webhook's secret.";
        }

        if (delivery.Signature is { } signature)
        {
            var text = signature.Trim();
            if (!text.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) || text.Length != 7 + 64 || !IsHex(text.AsSpan(7)))
            {
                return $"{SignatureHeader} must be 'sha256=' followed by the 64 hex digits of the HMAC-SHA256 of the body, keyed with the secret.";
            }

            // HMAC-SHA256 with a key longer than its block is keyed with the key's SHA-256: the stored hash.
            var expected = HMACSHA256.HashData(hook.SecretHash, delivery.Body.Span);
            return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(text.AsSpan(7)), expected)
                ? null
                : $"The {SignatureHeader} does not match the body: sign the exact bytes sent with the webhook's secret.";
        }

        return $"This webhook needs its secret: send '{TokenHeader}: <secret>', or '{SignatureHeader}: sha256=<hex HMAC-SHA256 of the body>'.";
    }

    /// <summary>
    /// What the container learns of the call: <c>STEVEDORE_HOOK_ID</c>, <c>_CONTENT_TYPE</c>, <c>_DELIVERY_ID</c>, and
    /// <c>STEVEDORE_HOOK_HEADER_&lt;NAME&gt;</c> for each header the hook chose. Values lose control characters and are
    /// cut to <see cref="Validation.MaxTaskEnvironmentValue"/> characters.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Environment(WebhookRecord hook, WebhookDelivery delivery)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["STEVEDORE_HOOK_ID"] = hook.Id };
        if (delivery.ContentType is { Length: > 0 } contentType)
        {
            environment["STEVEDORE_HOOK_CONTENT_TYPE"] = Sanitize(contentType);
        }

        if (delivery.DeliveryId is { Length: > 0 } deliveryId)
        {
            environment["STEVEDORE_HOOK_DELIVERY_ID"] = Sanitize(deliveryId);
        }

        foreach (var name in hook.Headers)
        {
            if (delivery.Header(name) is { } value)
            {
                environment["STEVEDORE_HOOK_HEADER_" + name.ToUpperInvariant().Replace('-', '_')] = Sanitize(value);
            }
        }

        return environment;
    }

    private static string Sanitize(string value)
    {
        var clean = string.Concat(value.Where(c => !char.IsControl(c)));
        return clean.Length <= Validation.MaxTaskEnvironmentValue ? clean : clean[..Validation.MaxTaskEnvironmentValue];
    }

    /// <summary>The idempotency key of a delivery: a sender's redelivery finds the task of the first one.</summary>
    private static string DeliveryKey(string hookId, string deliveryId) =>
        deliveryId.Length <= 128 && !deliveryId.Any(char.IsControl)
            ? $"webhook:{hookId}:{deliveryId}"
            : $"webhook:{hookId}:sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(deliveryId)))}";

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static AppError NotFound(string id, string job) =>
        AppError.NotFound($"Job '{Validation.Shorten(job)}' has no webhook '{Validation.Shorten(id)}'. List them with GET /v1/jobs/{Validation.Shorten(job)}/webhooks.");
}
