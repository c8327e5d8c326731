import * as ff from '@google-cloud/functions-framework';
import * as z from 'zod';
import { deliverAccountMail } from '../../shared/accounts/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { selectMailer } from '../../shared/mail/index.js';
import { loadFieldCipher } from '../../shared/field-crypto/index.js';

loadFieldCipher(); // FIELD_ENCRYPTION_KEYS, FIELD_BLIND_INDEX_KEY: opens the sealed emails/wallets this stage hands on
const config = loadConfig({
  SMTP_URL: configVars.SMTP_URL.optional(),
  MAIL_FROM: configVars.MAIL_FROM.optional(),
  PUBLIC_BASE_URL: configVars.PUBLIC_BASE_URL,
  K_SERVICE: z.string().optional(),
});
const mailer = selectMailer({ SMTP_URL: config.SMTP_URL, MAIL_FROM: config.MAIL_FROM, isOnCloudRun: Boolean(config.K_SERVICE) });

/** On account-mail-requested: verification, reset and notice mails to dashboard accounts. */
ff.cloudEvent(
  'send-account-mail',
  consume({
    consumer: 'send-account-mail',
    topic: 'account-mail-requested',
    // A concurrent duplicate waits for this one instead of sending the mail twice.
    exclusiveKey: (delivery) => delivery.messageId,
    handle: (delivery, services) =>
      deliverAccountMail(
        { ...services, logger: delivery.logger, mailer, publicBaseUrl: config.PUBLIC_BASE_URL },
        { consumer: delivery.consumer, messageId: delivery.messageId, topic: delivery.topic },
        delivery.message,
      ),
  }),
);
