import * as ff from '@google-cloud/functions-framework';
import { deadLetterSink } from '../../shared/pubsub-entry/index.js';

/** Subscribed to every dead-letter topic in pubsub-topics.yaml. */
ff.cloudEvent('record-dead-letter', deadLetterSink({ consumer: 'record-dead-letter' }));
