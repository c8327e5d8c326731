import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useRef, useState } from 'react';
import { type AnswerOf, type BodyOf, must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { CheckboxField, CopyButton, ErrorMessage, fieldErrorsOf, focusFirstInvalid, Notice, SelectField, Spinner, TextField } from '../components/ui';
import { Link, useParams } from '../router';
import { useChannel } from './queries';

type PromoCode = AnswerOf<'listPromoCodes'>['promoCodes'][number];
type PromoCodeInput = BodyOf<'createPromoCode'>;

const promoCodesKey = (channelId: string) => ['channels', channelId, 'promo-codes'] as const;

/** '25 % off' or '$5.00 off'. */
export function describeDiscount(code: Pick<PromoCode, 'percentOffBps' | 'amountOff'>): string {
  if (code.percentOffBps !== null) return `${(code.percentOffBps / 100).toFixed(code.percentOffBps % 100 === 0 ? 0 : 2)} % off`;
  return `$${code.amountOff} off`;
}

interface FormValues {
  code: string;
  kind: 'percent' | 'fixed';
  value: string;
  validUntil: string;
  maxUses: string;
  maxUsesPerUser: string;
  tierNumbers: number[];
}

const EMPTY: FormValues = { code: '', kind: 'percent', value: '', validUntil: '', maxUses: '', maxUsesPerUser: '', tierNumbers: [] };

/** Form values → the API's body; a field the browser can already tell is wrong comes back in `errors`. */
export function promoCodeBody(values: FormValues): { body?: PromoCodeInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (!/^[A-Za-z0-9_-]{3,32}$/.test(values.code.trim())) errors.code = 'Use 3 to 32 letters, digits, _ or -.';
  let discount: Pick<PromoCodeInput, 'percentOffBps' | 'amountOff'> = {};
  if (values.kind === 'percent') {
    // Percent typed with up to two decimals, sent as basis points (integers, never a float on the wire).
    const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(values.value.trim());
    const bps = match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : 0;
    if (!match || bps < 1 || bps > 10_000) errors.percentOffBps = 'Enter a percentage from 0.01 to 100.';
    else discount = { percentOffBps: bps };
  } else if (!/^\d{1,6}(\.\d{1,2})?$/.test(values.value.trim()) || /^0+(\.0+)?$/.test(values.value.trim())) {
    errors.amountOff = 'Enter a USD amount such as 5.00.';
  } else {
    discount = { amountOff: values.value.trim() };
  }
  const limit = (text: string, field: string) => {
    if (text.trim() === '') return null;
    if (!/^[1-9]\d{0,6}$/.test(text.trim())) errors[field] = 'A whole number, or leave it empty for no limit.';
    return Number(text.trim());
  };
  const maxUses = limit(values.maxUses, 'maxUses');
  const maxUsesPerUser = limit(values.maxUsesPerUser, 'maxUsesPerUser');
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    body: {
      code: values.code.trim(),
      ...discount,
      validUntil: values.validUntil ? new Date(`${values.validUntil}T00:00:00Z`).toISOString() : null,
      maxUses,
      maxUsesPerUser,
      tierNumbers: values.tierNumbers,
    },
  };
}

function CreatePromoCodeForm({ channelId, tierNumbers }: { channelId: string; tierNumbers: number[] }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [values, setValues] = useState<FormValues>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const form = useRef<HTMLFormElement>(null);
  const create = useMutation({
    mutationFn: (body: PromoCodeInput) => must(api.POST('/channels/{channelId}/promo-codes', { params: { path: { channelId } }, body })),
    onSuccess: async () => {
      setValues(EMPTY);
      await queries.invalidateQueries({ queryKey: promoCodesKey(channelId) });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = promoCodeBody(values);
    setErrors(found);
    if (!body) return focusFirstInvalid(form.current);
    create.mutate(body);
  };
  const server = fieldErrorsOf(create.error);
  const error = (field: string) => errors[field] ?? server[field];
  return (
    <form ref={form} onSubmit={submit} noValidate aria-labelledby="new-code">
      <h2 id="new-code">New promo code</h2>
      {Object.keys(server).length === 0 && <ErrorMessage error={create.error} />}
      <TextField label="Code" hint="What subscribers type (any case). Letters, digits, _ or -." value={values.code} onChange={(e) => setValues({ ...values, code: e.target.value })} error={error('code')} required />
      <SelectField label="Discount" value={values.kind} onChange={(e) => setValues({ ...values, kind: e.target.value as FormValues['kind'] })}>
        <option value="percent">Percent off</option>
        <option value="fixed">USD off</option>
      </SelectField>
      <TextField
        label={values.kind === 'percent' ? 'Percent off' : 'USD off'}
        hint={values.kind === 'percent' ? 'The discount rounds down to a whole cent. A price never goes below $1.00.' : 'A price never goes below $1.00.'}
        inputMode="decimal"
        value={values.value}
        onChange={(e) => setValues({ ...values, value: e.target.value })}
        error={error(values.kind === 'percent' ? 'percentOffBps' : 'amountOff')}
        required
      />
      <TextField label="Ends on (at 00:00 UTC that day, optional)" type="date" value={values.validUntil} onChange={(e) => setValues({ ...values, validUntil: e.target.value })} error={error('validUntil')} />
      <TextField label="Paid uses in total (optional)" inputMode="numeric" value={values.maxUses} onChange={(e) => setValues({ ...values, maxUses: e.target.value })} error={error('maxUses')} />
      <TextField label="Paid uses per subscriber (optional)" inputMode="numeric" value={values.maxUsesPerUser} onChange={(e) => setValues({ ...values, maxUsesPerUser: e.target.value })} error={error('maxUsesPerUser')} />
      <fieldset>
        <legend>Tiers (none ticked: every tier)</legend>
        {tierNumbers.map((tier) => (
          <CheckboxField
            key={tier}
            label={`Tier ${tier}`}
            checked={values.tierNumbers.includes(tier)}
            onChange={(e) => setValues({ ...values, tierNumbers: e.target.checked ? [...values.tierNumbers, tier] : values.tierNumbers.filter((t) => t !== tier) })}
          />
        ))}
        {error('tierNumbers') && <p className="field-error">{error('tierNumbers')}</p>}
      </fieldset>
      <button className="button" type="submit" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create the code'}
      </button>
    </form>
  );
}

function PromoCodeRow({ channelId, code }: { channelId: string; code: PromoCode }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const archive = useMutation({
    mutationFn: () => must(api.POST('/channels/{channelId}/promo-codes/{promoCodeId}/archive', { params: { path: { channelId, promoCodeId: code.id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: promoCodesKey(channelId) }),
  });
  const limits = [code.maxUses !== null && `${code.maxUses} in total`, code.maxUsesPerUser !== null && `${code.maxUsesPerUser} per subscriber`].filter(Boolean).join(', ');
  return (
    <tr data-testid="promo-code">
      <td>
        <span className="mono">{code.code}</span>
        {code.link && code.status === 'active' && <CopyButton text={code.link} label="Copy link" what={`the link with ${code.code}`} />}
      </td>
      <td>
        {describeDiscount(code)}
        {code.tierNumbers.length > 0 && <span className="muted"> · tiers {code.tierNumbers.join(', ')}</span>}
        {code.validUntil && <span className="muted"> · until {code.validUntil.slice(0, 10)}</span>}
        {limits && <span className="muted"> · {limits}</span>}
      </td>
      <td>{code.figures.checkouts}</td>
      <td>
        {code.figures.redemptions}
        {code.figures.heldUses > 0 && <span className="muted"> (+{code.figures.heldUses} held)</span>}
      </td>
      <td>${code.figures.revenue}</td>
      <td>${code.figures.discountGiven}</td>
      <td>
        {code.status === 'archived' ? (
          <span className="badge badge--archived">archived</span>
        ) : (
          <button type="button" className="button button--quiet" disabled={archive.isPending} onClick={() => archive.mutate()}>
            Archive<span className="visually-hidden"> {code.code}</span>
          </button>
        )}
        {archive.isError && <ErrorMessage error={archive.error} />}
      </td>
    </tr>
  );
}

/** A channel's promo codes: their figures, a form for a new one, archiving. Loaded when first opened. */
export function PromoCodesPage() {
  const { channelId = '' } = useParams();
  const { api } = useAuth();
  const channel = useChannel(channelId);
  const codes = useQuery({
    queryKey: promoCodesKey(channelId),
    queryFn: () => must(api.GET('/channels/{channelId}/promo-codes', { params: { path: { channelId } } })),
  });
  if (channel.isPending || codes.isPending) return <Spinner />;
  if (channel.isError) return <ErrorMessage error={channel.error} />;
  if (codes.isError) return <ErrorMessage error={codes.error} />;
  return (
    <>
      <div className="page-head">
        <h1>Promo codes · {channel.data.openChat.title}</h1>
      </div>
      <Notice>
        Subscribers enter a code in the bot before paying, or open a code’s link (“Copy link”; for one tier, add <span className="mono">_p&lt;CODE&gt;</span> to that
        tier’s link). A use counts once its payment is settled; revenue is what subscribers paid.
      </Notice>
      <section className="card" aria-labelledby="codes">
        <h2 id="codes">Codes</h2>
        {codes.data.promoCodes.length === 0 ? (
          <p className="muted">No promo codes yet.</p>
        ) : (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">Terms</th>
                  <th scope="col">Checkouts</th>
                  <th scope="col">Paid uses</th>
                  <th scope="col">Revenue</th>
                  <th scope="col">Discount given</th>
                  <th scope="col">
                    <span className="visually-hidden">Status</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {codes.data.promoCodes.map((code) => (
                  <PromoCodeRow key={code.id} channelId={channelId} code={code} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card">
        <CreatePromoCodeForm channelId={channelId} tierNumbers={channel.data.tiers.map((tier) => tier.tierNumber)} />
      </section>
      <p>
        <Link to={`/channels/${channelId}`}>Back to the channel</Link>
      </p>
    </>
  );
}
