/**
 * What a person has typed into one input and not written yet. The input shows the live
 * value (others' edits arrive as they type), except while a draft is held: a value that
 * is not valid yet, or was refused. Then it keeps what they typed, with the reason, until
 * they write it, fix it, or press Escape.
 */
import { untrack } from 'svelte';

export class InputDraft {
	/** What the input shows. */
	text = $state('');
	/** Why the held draft was not written; empty when there is nothing to say. */
	error = $state('');
	/** Typed and not written. */
	held = $state(false);

	/** Created while a component initialises: `live` is the live value as the input shows it, followed from then on. */
	constructor(private readonly live: () => string) {
		$effect(() => {
			const shown = live();
			untrack(() => this.follow(shown));
		});
	}

	/** The live value, taken unless a draft is held. */
	private follow(shown: string): void {
		if (this.held) return;
		this.text = shown;
		this.error = '';
	}

	/** Keeps what was typed, saying why it was not written; without a reason (still typing), what was said stays. */
	hold(error?: string): void {
		if (error !== undefined) this.error = error;
		this.held = true;
	}

	/** The value was written: the draft is over; `shown` is how the written value reads. */
	written(shown?: string): void {
		this.error = '';
		this.held = false;
		if (shown !== undefined) this.text = shown;
	}

	/** Escape: drop the draft and show the live value again. */
	revert(): void {
		this.held = false;
		this.follow(this.live());
	}
}
