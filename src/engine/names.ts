import { randomInt } from 'node:crypto';

// Docker-style generated container names: adjective_scientist.
const LEFT = ['admiring', 'brave', 'clever', 'dazzling', 'eager', 'festive', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'optimistic', 'peaceful', 'quirky', 'relaxed', 'serene', 'trusting', 'vibrant', 'wizardly', 'youthful', 'zealous'];
const RIGHT = ['babbage', 'curie', 'darwin', 'einstein', 'fermi', 'galileo', 'hopper', 'kepler', 'lovelace', 'meitner', 'newton', 'noether', 'pasteur', 'ritchie', 'shannon', 'tesla', 'thompson', 'turing', 'wozniak'];

export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(10)}`;
    if (!taken(name)) return name;
  }
}

export const VALID_CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
