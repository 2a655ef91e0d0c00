import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';

describe('stripe-mock smoke', () => {
  const config = loadConfig();
  const url = new URL(config.stripe.url);
  const stripe = new Stripe(config.stripe.apiKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
  });

  it('creates a PaymentIntent with the official client', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2500,
      currency: 'eur',
      payment_method_types: ['card'],
    } as Stripe.PaymentIntentCreateParams);
    expect(intent.object).toBe('payment_intent');
    expect(intent.id).toMatch(/^pi_/);
    expect(intent.amount).toBe(2500);
  });

  it('answers an invalid request (amount missing) with a typed invalid_request_error', async () => {
    const error = await stripe.paymentIntents
      .create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
  });
});
